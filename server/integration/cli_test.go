//go:build integration

package integration

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cli runs the web app's crypto core through its CLI (make cli builds it).
func cli(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	path, err := filepath.Abs("../../webapp/dist-cli/mm-e2ee.js")
	require.NoError(t, err)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the mm-e2ee CLI is not built (%v): run `make cli`", err)
	}
	cmd := exec.Command("node", append([]string{path}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	require.NoError(t, err, "mm-e2ee %v", args)
	return string(out)
}

// TestV2FromTheWebAppCrypto posts v2 messages made by the real crypto core with the real
// channel, thread and user IDs, and replays one where it does not belong.
func TestV2FromTheWebAppCrypto(t *testing.T) {
	w := setup(t)
	dir := t.TempDir()
	sender := w.e.newUser(t, w.admin, "itcli")
	var ch struct {
		ID string `json:"id"`
	}
	sender.mustJSON("POST", "/api/v4/channels", map[string]string{
		"team_id": w.e.teamID, "name": randomName("it-cli-"), "display_name": "Integration CLI", "type": "P",
	}, http.StatusCreated, &ch)

	keyFile := filepath.Join(dir, "sender.key")
	require.NoError(t, os.WriteFile(keyFile, []byte(cli(t, "", "keygen")), 0o600))
	pubJSON := strings.SplitN(cli(t, "", "pubkey", keyFile), "\n", 2)[0]
	pubFile := filepath.Join(dir, "sender.pub")
	require.NoError(t, os.WriteFile(pubFile, []byte(pubJSON), 0o600))
	var pub map[string]string
	require.NoError(t, json.Unmarshal([]byte(pubJSON), &pub))
	// The proof of possession from the CLI too, as a script would register a key.
	proof := strings.TrimSpace(cli(t, "", "push-proof", "--key", keyFile, "--user", sender.userID, "--nonce", sender.nonce()))
	r := sender.plugin("POST", "/pubkey/push", map[string]any{"pubkey": pub, "proof": proof})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)

	r = sender.plugin("POST", "/channel/encryption_method?chanID="+ch.ID+"&method=p2p", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)

	encrypt := func(text, channelID, rootID string) map[string]any {
		out := cli(t, text, "encrypt", "--key", keyFile, "--to", pubFile, "--format", "v2",
			"--channel", channelID, "--root", rootID, "--user", sender.userID)
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &m))
		require.EqualValues(t, 2, m["version"])
		return m
	}

	top := encrypt("top-level v2", ch.ID, "")
	r = sender.createPost(post{ChannelID: ch.ID, Type: "custom_e2ee", Message: placeholder, Props: map[string]any{"e2ee": top}})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	var root post
	r.json(t, &root)

	reply := encrypt("reply v2", ch.ID, root.ID)
	r = sender.createPost(post{ChannelID: ch.ID, RootID: root.ID, Type: "custom_e2ee", Message: placeholder, Props: map[string]any{"e2ee": reply}})
	assert.Equal(t, http.StatusCreated, r.status, "%s", r.body)

	// The top-level ciphertext replayed as a reply, or the reply as a top-level post: refused.
	r = sender.createPost(post{ChannelID: ch.ID, RootID: root.ID, Type: "custom_e2ee", Message: placeholder, Props: map[string]any{"e2ee": top}})
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	r = sender.createPost(post{ChannelID: ch.ID, Type: "custom_e2ee", Message: placeholder, Props: map[string]any{"e2ee": reply}})
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)

	// An edit with a fresh v2 signature is accepted; the stored post stays ciphertext.
	edited := encrypt("edited v2", ch.ID, "")
	r = sender.do("PUT", "/api/v4/posts/"+root.ID+"/patch", map[string]any{"props": map[string]any{"e2ee": edited}})
	assert.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var stored post
	sender.mustJSON("GET", "/api/v4/posts/"+root.ID, nil, http.StatusOK, &stored)
	assert.Equal(t, placeholder, stored.Message)
	assert.Equal(t, edited["signature"], stored.Props["e2ee"].(map[string]any)["signature"])
}
