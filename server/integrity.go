package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// bundleStatusText is the /e2ee status line about the web app code (docs/design.md §12.5):
// the plugin version and the SHA-256 of the bundle this server holds. It says that the
// server wrote it, because a server that serves altered code can print anything here.
func (p *Plugin) bundleStatusText() string {
	const caveat = "This line comes from the server, so it proves nothing: only a check from outside it " +
		"(`mm-e2ee verify-server` or the E2EE code check browser extension, against the published release hashes) shows what your browser runs."
	text := fmt.Sprintf("Plugin version %s.", manifestVersion)
	installed, served, err := p.bundleFiles()
	if err != nil {
		p.API.LogWarn("E2EE: cannot read the web app bundle for /e2ee status", "error", err.Error())
		return text + " The server could not read its web app bundle.\n" + caveat
	}
	sum, err := fileSHA256(installed)
	if err != nil {
		p.API.LogWarn("E2EE: cannot hash the web app bundle for /e2ee status", "error", err.Error())
		return text + " The server could not read its web app bundle.\n" + caveat
	}
	text += fmt.Sprintf(" Web app bundle held by this server: SHA-256 %s", sum)
	if served == "" {
		return text + ".\n" + caveat
	}
	text += fmt.Sprintf(", served as %s", filepath.Base(served))
	servedSum, err := fileSHA256(served)
	switch {
	case err != nil:
		text += " (the served copy could not be read)"
	case servedSum != sum:
		text += fmt.Sprintf(". The served copy DIFFERS from the installed bundle: SHA-256 %s", servedSum)
	}
	return text + ".\n" + caveat
}

// bundleFiles returns the installed bundle (<plugin dir>/<webapp.bundle_path>) and the copy
// the server serves (<ClientDirectory>/<id>/<id>_<fnv>_bundle.js), "" when it cannot be found.
func (p *Plugin) bundleFiles() (installed, served string, err error) {
	dir, err := p.API.GetBundlePath()
	if err != nil {
		return "", "", err
	}
	raw, err := os.ReadFile(filepath.Join(dir, "plugin.json"))
	if err != nil {
		return "", "", err
	}
	var m struct {
		Webapp *struct {
			BundlePath string `json:"bundle_path"`
		} `json:"webapp"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", "", err
	}
	if m.Webapp == nil || m.Webapp.BundlePath == "" {
		return "", "", fmt.Errorf("plugin.json has no webapp bundle")
	}
	installed = filepath.Join(dir, filepath.Clean(m.Webapp.BundlePath))
	if clientDir := p.clientPluginDir(dir); clientDir != "" {
		matches, _ := filepath.Glob(filepath.Join(clientDir, manifestID+"_*_bundle.js"))
		if len(matches) == 1 {
			served = matches[0]
		}
	}
	return installed, served, nil
}

// clientPluginDir is <PluginSettings.ClientDirectory>/<id>. A relative ClientDirectory is
// relative to the server's working directory, which the plugin process does not share; it is
// found from the bundle path, the absolute form of <PluginSettings.Directory>/<id>.
func (p *Plugin) clientPluginDir(bundleDir string) string {
	cfg := p.API.GetConfig()
	if cfg == nil || cfg.PluginSettings.ClientDirectory == nil || *cfg.PluginSettings.ClientDirectory == "" {
		return ""
	}
	clientDir := *cfg.PluginSettings.ClientDirectory
	if filepath.IsAbs(clientDir) {
		return filepath.Join(clientDir, manifestID)
	}
	if cfg.PluginSettings.Directory == nil {
		return ""
	}
	pluginDir := filepath.Clean(*cfg.PluginSettings.Directory)
	parent := filepath.Dir(bundleDir)
	if filepath.IsAbs(pluginDir) || !strings.HasSuffix(parent, string(filepath.Separator)+pluginDir) {
		return ""
	}
	cwd := strings.TrimSuffix(parent, string(filepath.Separator)+pluginDir)
	return filepath.Join(cwd, clientDir, manifestID)
}

func fileSHA256(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), nil
}
