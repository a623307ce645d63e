//go:build integration

package integration

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cliRun runs the CLI and returns stdout, stderr and the exit code (cli() fails on non-zero).
func cliRun(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	path, err := filepath.Abs("../../webapp/dist-cli/mm-e2ee.js")
	require.NoError(t, err)
	cmd := exec.Command("node", append([]string{path}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return stdout.String(), stderr.String(), ee.ExitCode()
	}
	require.NoError(t, err)
	return stdout.String(), stderr.String(), 0
}

type exportedPost struct {
	User    string `json:"user"`
	UserID  string `json:"userId"`
	RootID  string `json:"rootId"`
	Version int    `json:"version"`
	Text    string `json:"text"`
	Files   []struct {
		Name  string `json:"name"`
		Path  string `json:"path"`
		Error string `json:"error"`
	} `json:"files"`
}

func readExported(t *testing.T, dir string) []exportedPost {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "posts.jsonl"))
	require.NoError(t, err)
	var out []exportedPost
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var p exportedPost
		require.NoError(t, json.Unmarshal([]byte(line), &p))
		out = append(out, p)
	}
	return out
}

// TestDecryptBulkExport posts v2 (with a file, a reply, a DM) and v3 messages on the real server,
// runs the server's own bulk export job, and reads it offline with export-bundle + decrypt-export.
func TestDecryptBulkExport(t *testing.T) {
	w := setup(t)
	dir := t.TempDir()
	alice := newKeyedUser(t, w, dir, "itxa")
	bob := newKeyedUser(t, w, dir, "itxb")
	var ch struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	alice.mustJSON("POST", "/api/v4/channels", map[string]string{
		"team_id": w.e.teamID, "name": randomName("it-export-"), "display_name": "Integration export", "type": "P",
	}, http.StatusCreated, &ch)
	alice.mustJSON("POST", "/api/v4/channels/"+ch.ID+"/members", map[string]string{"user_id": bob.userID}, http.StatusCreated, nil)
	r := alice.plugin("POST", "/channel/encryption_method?chanID="+ch.ID+"&method=p2p", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)

	encrypt := func(u *keyedUser, text, channelID, rootID string, extra ...string) map[string]any {
		args := append([]string{"encrypt", "--key", u.keyFile, "--to", alice.pubFile, "--to", bob.pubFile, "--format", "v2",
			"--channel", channelID, "--root", rootID, "--user", u.userID}, extra...)
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(cli(t, text, args...)), &m))
		return m
	}
	mustPost := func(u *keyedUser, p post) post {
		r := u.createPost(p)
		require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
		var out post
		r.json(t, &out)
		return out
	}

	// A file of two F1 chunks, encrypted by the CLI as the web app does, named in the payload.
	plain := bytes.Repeat([]byte("export me byte for byte "), 4000)
	plainFile := filepath.Join(dir, "report.pdf")
	require.NoError(t, os.WriteFile(plainFile, plain, 0o600))
	var fileKey struct {
		Key  string `json:"key"`
		Hash string `json:"hash"`
		Size int    `json:"size"`
	}
	require.NoError(t, json.Unmarshal([]byte(cli(t, "", "encrypt-file", "--in", plainFile, "--out", plainFile+".bin")), &fileKey))
	ct, err := os.ReadFile(plainFile + ".bin")
	require.NoError(t, err)
	fi := alice.uploadOK(t, ch.ID, f1Name(), ct)
	entries, _ := json.Marshal([]map[string]any{{"id": fi.ID, "key": fileKey.Key, "hash": fileKey.Hash, "name": "../Q3 report.pdf",
		"type": "application/pdf", "size": fileKey.Size}})
	filesJSON := filepath.Join(dir, "files.json")
	require.NoError(t, os.WriteFile(filesJSON, entries, 0o600))

	root := mustPost(alice, post{ChannelID: ch.ID, Type: "custom_e2ee", Message: placeholder, FileIDs: []string{fi.ID},
		Props: map[string]any{"e2ee": encrypt(alice, "root with a file", ch.ID, "", "--files", filesJSON)}})
	mustPost(bob, post{ChannelID: ch.ID, RootID: root.ID, Type: "custom_e2ee", Message: placeholder,
		Props: map[string]any{"e2ee": encrypt(bob, "bob's reply", ch.ID, root.ID)}})
	mustPost(alice, post{ChannelID: ch.ID, Type: "custom_e2ee", Message: placeholder,
		Props: map[string]any{"e2ee": encrypt(alice, "to be tampered with", ch.ID, "")}})

	dm := alice.createDM(t, bob.client)
	r = alice.plugin("POST", "/channel/encryption_method?chanID="+dm+"&method=p2p", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	mustPost(bob, post{ChannelID: dm, Type: "custom_e2ee", Message: placeholder, Props: map[string]any{"e2ee": encrypt(bob, "a direct message", dm, "")}})

	// Channel-key mode: an epoch record for both, and a v3 post.
	ck := newChannelKeyChannel(t, alice.client, bob.client)
	aliceCK := &ckUser{client: alice.client, keyFile: alice.keyFile, pubFile: alice.pubFile}
	recFile, rec := newRecord(t, aliceCK, ck, 1, map[string]string{alice.userID: alice.pubFile, bob.userID: bob.pubFile})
	r = commit(t, alice.client, rec)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	mustPost(alice, v3post(ck, encryptV3(t, aliceCK, recFile, ck, "a channel-key post", aliceCK)))

	// Bob saves his bundle with his own session.
	tokenFile := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(bob.token), 0o600))
	bundle := filepath.Join(dir, "bundle.json")
	cli(t, "", "export-bundle", "--url", w.e.site, "--token-file", tokenFile, "--out", bundle)

	// The server's bulk export job (as `mmctl export create --attachments` starts it).
	var job struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	w.admin.mustJSON("POST", "/api/v4/jobs", map[string]any{"type": "export_process", "data": map[string]string{"include_attachments": "true"}},
		http.StatusCreated, &job)
	eventually(t, 3*time.Minute, func() bool {
		w.admin.mustJSON("GET", "/api/v4/jobs/"+job.ID, nil, http.StatusOK, &job)
		require.NotContains(t, []string{"error", "canceled"}, job.Status)
		return job.Status == "success"
	}, "the export job did not finish")
	r = w.admin.raw("GET", "/api/v4/exports/"+job.ID+"_export.zip", nil, "")
	require.Equal(t, http.StatusOK, r.status)
	t.Cleanup(func() { w.admin.do("DELETE", "/api/v4/exports/"+job.ID+"_export.zip", nil) })
	zipPath := filepath.Join(dir, "export.zip")
	require.NoError(t, os.WriteFile(zipPath, r.body, 0o600))

	// The whole export: the server holds other tests' posts too, so only our channels are checked.
	out := filepath.Join(dir, "out")
	_, stderr, code := cliRun(t, "decrypt-export", "--key", bob.keyFile, "--bundle", bundle, "--out", out, zipPath)
	require.Contains(t, []int{0, 3}, code, "%s", stderr)
	t.Logf("the whole export: exit %d\n%s", code, stderr)
	folder := w.e.teamName(t) + "__" + ch.Name
	posts := byText(readExported(t, filepath.Join(out, folder)))
	require.Len(t, posts, 3, "%s", stderr)
	withFile, reply := posts["root with a file"], posts["bob's reply"]
	assert.Equal(t, alice.userID, withFile.UserID)
	assert.Equal(t, root.ID, reply.RootID)
	assert.Equal(t, bob.userID, reply.UserID)
	assert.Contains(t, posts, "to be tampered with")
	require.Len(t, withFile.Files, 1)
	assert.Equal(t, "../Q3 report.pdf", withFile.Files[0].Name)
	assert.Equal(t, "files/0001-_Q3 report.pdf", withFile.Files[0].Path)
	got, err := os.ReadFile(filepath.Join(out, folder, withFile.Files[0].Path))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(plain, got), "the decrypted file differs from the original")
	dmPosts := readExported(t, filepath.Join(out, "dm__"+strings.Join(sortedPair(alice.name, bob.name), "__")))
	assert.Equal(t, "a direct message", dmPosts[0].Text)
	ckPosts := readExported(t, filepath.Join(out, w.e.teamName(t)+"__"+channelName(t, alice.client, ck)))
	assert.Equal(t, "a channel-key post", ckPosts[0].Text)
	assert.Equal(t, 3, ckPosts[0].Version)

	// Our channels alone, with one export line changed: that post is reported and not written.
	zr, err := zip.OpenReader(zipPath)
	require.NoError(t, err)
	defer zr.Close()
	var jsonl []byte
	small := filepath.Join(dir, "small")
	for _, f := range zr.File {
		rc, err := f.Open()
		require.NoError(t, err)
		data, err := io.ReadAll(rc)
		rc.Close()
		require.NoError(t, err)
		if f.Name == "import.jsonl" {
			jsonl = data
		} else if strings.Contains(f.Name, "/"+fi.ID+"/") {
			p := filepath.Join(small, filepath.FromSlash(f.Name))
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
			require.NoError(t, os.WriteFile(p, data, 0o600))
		}
	}
	var kept, keptTampered []string
	for _, line := range strings.Split(string(jsonl), "\n") {
		ours := strings.Contains(line, `"channel":"`+ch.Name+`"`) ||
			strings.Contains(line, `"channel_members":[`) && strings.Contains(line, `"`+bob.name+`"`) && strings.Contains(line, `"`+alice.name+`"`)
		if !strings.HasPrefix(line, `{"type":"version"`) && !(ours && (strings.Contains(line, `"type":"post"`) || strings.Contains(line, `"type":"direct_post"`))) {
			continue
		}
		kept = append(kept, line)
		if strings.Contains(line, `"type":"post"`) && ours && strings.Contains(line, `"encryptedData"`) && !strings.Contains(line, `"replies":[{`) && !tamperedOnce(keptTampered) {
			// The encrypted top-level post without replies ("to be tampered with"): flip one base64 character of its ciphertext.
			var l map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &l))
			e := l["post"].(map[string]any)["props"].(map[string]any)["e2ee"].(map[string]any)
			data := e["encryptedData"].(string)
			e["encryptedData"] = map[bool]string{true: "B", false: "A"}[data[0] == 'A'] + data[1:]
			b, _ := json.Marshal(l)
			line = string(b) + " "
		}
		keptTampered = append(keptTampered, line)
	}
	require.True(t, tamperedOnce(keptTampered))
	require.NoError(t, os.MkdirAll(small, 0o700))
	cleanJSONL := filepath.Join(small, "clean.jsonl")
	require.NoError(t, os.WriteFile(cleanJSONL, []byte(strings.Join(kept, "\n")+"\n"), 0o600))
	smallJSONL := filepath.Join(small, "import.jsonl")
	require.NoError(t, os.WriteFile(smallJSONL, []byte(strings.Join(keptTampered, "\n")+"\n"), 0o600))

	// The untouched lines of our channels: everything verified, exit 0.
	_, stderr, code = cliRun(t, "decrypt-export", "--key", bob.keyFile, "--bundle", bundle, "--out", filepath.Join(dir, "out1"), cleanJSONL)
	assert.Equal(t, 0, code, "%s", stderr)
	assert.Len(t, readExported(t, filepath.Join(dir, "out1", folder)), 3)

	out2 := filepath.Join(dir, "out2")
	_, stderr, code = cliRun(t, "decrypt-export", "--key", bob.keyFile, "--bundle", bundle, "--out", out2, smallJSONL)
	assert.Equal(t, 3, code, "%s", stderr)
	assert.Contains(t, stderr, "failed: integrity")
	posts = byText(readExported(t, filepath.Join(out2, folder)))
	require.Len(t, posts, 2)
	assert.Contains(t, posts, "bob's reply")
	require.Len(t, posts["root with a file"].Files, 1)
	got, err = os.ReadFile(filepath.Join(out2, folder, posts["root with a file"].Files[0].Path))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(plain, got))
	var report struct {
		Problems []struct {
			Kind   string `json:"kind"`
			Reason string `json:"reason"`
		} `json:"problems"`
	}
	data, err := os.ReadFile(filepath.Join(out2, "report.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &report))
	require.Len(t, report.Problems, 1)
	assert.Equal(t, "failed", report.Problems[0].Kind)
	require.NoError(t, filepath.WalkDir(out2, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		assert.NotContains(t, string(data), "to be tampered", "the tampered post must not be written (%s)", p)
		return err
	}))

	// A key that is no recipient of any of these posts reads nothing: exit 4.
	strangerKey := filepath.Join(dir, "stranger.key")
	require.NoError(t, os.WriteFile(strangerKey, []byte(cli(t, "", "keygen")), 0o600))
	_, stderr, code = cliRun(t, "decrypt-export", "--key", strangerKey, "--bundle", bundle, "--out", filepath.Join(dir, "out3"), cleanJSONL)
	assert.Equal(t, 4, code, "%s", stderr)
}

// tamperedOnce: one of the lines was rewritten (marked by the trailing space the test adds).
func tamperedOnce(lines []string) bool {
	for _, l := range lines {
		if strings.HasSuffix(l, " ") {
			return true
		}
	}
	return false
}

func byText(posts []exportedPost) map[string]exportedPost {
	m := map[string]exportedPost{}
	for _, p := range posts {
		m[p.Text] = p
	}
	return m
}

func sortedPair(a, b string) []string {
	if a < b {
		return []string{a, b}
	}
	return []string{b, a}
}

func channelName(t *testing.T, c *client, id string) string {
	var ch struct {
		Name string `json:"name"`
	}
	c.mustJSON("GET", "/api/v4/channels/"+id, nil, http.StatusOK, &ch)
	return ch.Name
}

func (e *env) teamName(t *testing.T) string {
	var team struct {
		Name string `json:"name"`
	}
	c := &client{t: t, e: e, token: e.adminToken}
	c.mustJSON("GET", "/api/v4/teams/"+e.teamID, nil, http.StatusOK, &team)
	return team.Name
}
