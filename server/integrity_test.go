package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Other unit tests have no installed bundle; /e2ee status then says it cannot read it.
func (f *fakeAPI) GetBundlePath() (string, error) { return "", errors.New("no bundle in unit tests") }

// bundleAPI is the fake with a plugin installed on disk.
type bundleAPI struct {
	*fakeAPI
	dir string
}

func (b bundleAPI) GetBundlePath() (string, error) { return b.dir, nil }

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// A server laid out as Mattermost does: <cwd>/plugins/<id>/ (installed) and
// <cwd>/client/plugins/<id>/<id>_<fnv>_bundle.js (served), with relative directories.
func installedServer(t *testing.T, bundle []byte) (cwd, installedDir, servedFile string) {
	cwd = t.TempDir()
	installedDir = filepath.Join(cwd, "plugins", manifestID)
	require.NoError(t, os.MkdirAll(filepath.Join(installedDir, "webapp", "dist"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(installedDir, "plugin.json"), []byte(`{"id":"`+manifestID+`","webapp":{"bundle_path":"webapp/dist/main.js"}}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(installedDir, "webapp", "dist", "main.js"), bundle, 0o644))
	servedDir := filepath.Join(cwd, "client", "plugins", manifestID)
	require.NoError(t, os.MkdirAll(servedDir, 0o755))
	servedFile = filepath.Join(servedDir, manifestID+"_0011223344556677_bundle.js")
	require.NoError(t, os.WriteFile(servedFile, bundle, 0o644))
	return cwd, installedDir, servedFile
}

func TestStatusShowsBundleHashAndSaysItProvesNothing(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	bundle := []byte("registerPlugin()")
	_, dir, served := installedServer(t, bundle)
	p.SetAPI(bundleAPI{api, dir})
	rel, clientRel := "./plugins", "./client/plugins"
	api.On("GetConfig").Return(&model.Config{PluginSettings: model.PluginSettings{Directory: &rel, ClientDirectory: &clientRel}})

	status := run(p, aliceID, "/e2ee status")
	assert.Contains(t, status, "is on") // the channel part is still there
	assert.Contains(t, status, "Plugin version "+manifestVersion+".")
	assert.Contains(t, status, "SHA-256 "+hexSHA(bundle)+", served as "+filepath.Base(served)+".")
	assert.Contains(t, status, "This line comes from the server, so it proves nothing")
	assert.Contains(t, status, "mm-e2ee verify-server")
	assert.NotContains(t, status, "DIFFERS")

	// The served copy altered on disk: the line says so (from this server's own view).
	require.NoError(t, os.WriteFile(served, []byte("registerPlugin();steal()"), 0o644))
	status = run(p, aliceID, "/e2ee status")
	assert.Contains(t, status, "The served copy DIFFERS from the installed bundle: SHA-256 "+hexSHA([]byte("registerPlugin();steal()")))
}

func TestStatusBundleWithAbsoluteDirectoriesAndWithoutBundle(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	assert.Contains(t, run(p, aliceID, "/e2ee status"), "could not read its web app bundle")

	cwd, dir, _ := installedServer(t, []byte("x"))
	p.SetAPI(bundleAPI{api, dir})
	abs := filepath.Join(cwd, "client", "plugins")
	api.On("GetConfig").Return(&model.Config{PluginSettings: model.PluginSettings{ClientDirectory: &abs}})
	status := run(p, aliceID, "/e2ee status")
	assert.Contains(t, status, "SHA-256 "+hexSHA([]byte("x"))+", served as ")
}
