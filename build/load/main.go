// Command load is `make load` and `make faults` (docs/design.md, "Load and faults"): many
// concurrent clients post encrypted posts (made by the web app's crypto core, signed with keys
// registered through the key-push API) and plaintext posts to a real Mattermost server, then
// check against the database that every acknowledged post is stored exactly once. The fault
// cases kill the server, kill the plugin's process or restart PostgreSQL in the middle of it
// and check the invariants afterwards. build/load.sh and build/faults.sh start the servers.
//
// Usage: go run ./build/load -mode load|server-kill|plugin-kill|pg-restart
// Env: what .mattermost/env (build/mm-up.sh) exports; MM_ENV_FILE to re-read it after a restart.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	mode := flag.String("mode", "load", "load, server-kill, plugin-kill or pg-restart")
	clients := flag.Int("clients", 20, "concurrent posting clients (one user each)")
	posts := flag.Int("posts", 2000, "encrypted posts, and as many plaintext posts")
	channels := flag.Int("channels", 10, "encrypted channels, and as many plain channels")
	root := flag.String("root", ".", "the repository (for plugin.json, the loadgen script and build/)")
	flag.Parse()
	if *clients < 1 || *channels < 1 || *posts < *clients || *clients%*channels != 0 && *channels%*clients != 0 {
		fail("bad sizes: -clients must divide -channels or the other way round, -posts >= -clients")
	}
	r, err := newRun(*root, *clients, *posts, *channels)
	if err != nil {
		fail("%v", err)
	}
	var report map[string]any
	switch *mode {
	case "load":
		report, err = r.loadCase()
	case "server-kill":
		report, err = r.serverKillCase()
	case "plugin-kill":
		report, err = r.pluginKillCase()
	case "pg-restart":
		report, err = r.pgRestartCase()
	default:
		fail("unknown -mode %q", *mode)
	}
	if report != nil {
		report["case"] = *mode
		out, _ := json.Marshal(report)
		fmt.Println(string(out))
	}
	if err != nil {
		fail("%s: FAILED: %v", *mode, err)
	}
	fmt.Fprintf(os.Stderr, "load: %s: passed\n", *mode)
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "load: "+format+"\n", a...)
	os.Exit(1)
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "load: %s "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05.000")}, a...)...)
}

// readEnvFile reads the export KEY='value' lines mm-up.sh writes (values single-quoted, with
// '\” for a quote) into the process environment, so that a restarted server's pid is seen.
func readEnvFile(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		line, ok := strings.CutPrefix(line, "export ")
		if !ok {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if strings.HasPrefix(v, "'") && strings.HasSuffix(v, "'") && len(v) >= 2 {
			v = strings.ReplaceAll(v[1:len(v)-1], `'\''`, `'`)
		}
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	return nil
}

func pluginID(root string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(root, "plugin.json"))
	if err != nil {
		return "", err
	}
	var m struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &m); err != nil || m.ID == "" {
		return "", fmt.Errorf("plugin.json: no id")
	}
	return m.ID, nil
}
