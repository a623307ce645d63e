//go:build integration

package integration

// A 2,000-member channel in channel-key mode on the real server. An unlicensed server refuses to
// create more than 250 active users through the API (maxUsersHardLimit), so the members come from
// Mattermost's own bulk import (a JSONL zip processed as a job over the local-mode socket, as
// `mmctl import process --bypass-upload --local` does), which has no such check. Each
// member registers a key as a browser would: a session (a user access token made over the local
// socket), a nonce, and a push with proof of possession. Afterwards the members are deactivated
// (again by an import job), so later tests can still create users through the API.

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// localClient talks to the server's local-mode socket (MM_LOCAL_SOCKET): the machine admin's rights.
type localClient struct {
	t    *testing.T
	http *http.Client
}

func newLocalClient(t *testing.T) *localClient {
	socket := os.Getenv("MM_LOCAL_SOCKET")
	require.NotEmpty(t, socket, "MM_LOCAL_SOCKET: the server's local-mode socket (make mm-up writes it to .mattermost/env)")
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", socket)
	}}
	return &localClient{t: t, http: &http.Client{Transport: tr, Timeout: 5 * time.Minute}}
}

func (l *localClient) raw(method, path string, body io.Reader, contentType string) response {
	l.t.Helper()
	req, err := http.NewRequest(method, "http://localhost"+path, body)
	require.NoError(l.t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := l.http.Do(req)
	require.NoError(l.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(l.t, err)
	return response{resp.StatusCode, data, resp.Header}
}

func (l *localClient) mustJSON(method, path string, body any, status int, out any) {
	l.t.Helper()
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		require.NoError(l.t, err)
		r = bytes.NewReader(data)
	}
	res := l.raw(method, path, r, "application/json")
	require.Equal(l.t, status, res.status, "%s %s: %s", method, path, res.body)
	if out != nil {
		res.json(l.t, out)
	}
}

// bulkImport uploads JSONL lines as an import zip and runs the import job to its end.
func (l *localClient) bulkImport(lines []any) {
	l.t.Helper()
	var jsonl bytes.Buffer
	enc := json.NewEncoder(&jsonl)
	for _, line := range lines {
		require.NoError(l.t, enc.Encode(line))
	}
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	f, err := zw.Create("import.jsonl")
	require.NoError(l.t, err)
	_, err = f.Write(jsonl.Bytes())
	require.NoError(l.t, err)
	require.NoError(l.t, zw.Close())

	// Read by the server from this machine's file system, as `mmctl import process --bypass-upload
	// --local` does: an import *upload* is lost while any plugin implements FileWillBeUploaded
	// (Mattermost 11.4 runs that hook on import uploads; see docs/admin-guide.md).
	file := filepath.Join(l.t.TempDir(), randomName("ckimport-")+".zip")
	require.NoError(l.t, os.WriteFile(file, zipped.Bytes(), 0o600))
	var job struct {
		ID     string            `json:"id"`
		Status string            `json:"status"`
		Data   map[string]string `json:"data"`
	}
	l.mustJSON("POST", "/api/v4/jobs", map[string]any{"type": "import_process", "data": map[string]string{
		"import_file": file, "local_mode": "true", "extract_content": "false",
	}}, http.StatusCreated, &job)
	// The job server polls for new jobs every 15 s.
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		l.mustJSON("GET", "/api/v4/jobs/"+job.ID, nil, http.StatusOK, &job)
		switch job.Status {
		case "success":
			return
		case "error", "canceled":
			l.t.Fatalf("import job %s: %s %v", job.ID, job.Status, job.Data)
		}
		time.Sleep(500 * time.Millisecond)
	}
	l.t.Fatalf("import job %s still %s after 5 minutes", job.ID, job.Status)
}

// eachOf8 runs f(0..n-1) on 8 goroutines and fails the test with the errors.
func eachOf8(t *testing.T, n int, f func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	work := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := f(i); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// TestChannelKeyTwoThousandMembers: a record for 2,000 members travels in 5 parts and is committed
// by the real server; a v3 post is accepted; a removal makes the epoch stale; the next record,
// for 1,999 members, is committed and posts pass again.
func TestChannelKeyTwoThousandMembers(t *testing.T) {
	const imported = 1999 // and alice: 2,000 members
	w := setup(t)
	local := newLocalClient(t)
	dir := t.TempDir()
	started := time.Now()
	phase := started
	lap := func(what string) {
		t.Logf("%s: %.1fs", what, time.Since(phase).Seconds())
		phase = time.Now()
	}

	// Users with CLI keys, made through the API before the import takes the server past 250 users:
	// alice makes the records, the reader reads with the crypto core.
	alice := newCKUser(t, w, dir, "ck2kalice")
	reader := newCKUser(t, w, dir, "ck2kreader")
	// A team of its own: the server's work per new team member grows with the team's size.
	prefix := randomName("ck2k")
	var team struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	local.mustJSON("POST", "/api/v4/teams", map[string]string{"name": prefix, "display_name": "Channel key 2,000", "type": "I"}, http.StatusCreated, &team)
	// Import refuses to exceed the team's size limit: raise it while the members are active.
	var cfg struct {
		TeamSettings struct {
			MaxUsersPerTeam int `json:"MaxUsersPerTeam"`
		} `json:"TeamSettings"`
	}
	local.mustJSON("GET", "/api/v4/config", nil, http.StatusOK, &cfg)
	if limit := cfg.TeamSettings.MaxUsersPerTeam; limit < 5000 {
		local.mustJSON("PUT", "/api/v4/config/patch", map[string]any{"TeamSettings": map[string]any{"MaxUsersPerTeam": 5000}}, http.StatusOK, nil)
		t.Cleanup(func() {
			local.mustJSON("PUT", "/api/v4/config/patch", map[string]any{"TeamSettings": map[string]any{"MaxUsersPerTeam": limit}}, http.StatusOK, nil)
		})
	}

	channelName := prefix + "-chan"
	usernames := make([]string, imported)
	lines := []any{
		map[string]any{"type": "version", "version": 1},
		map[string]any{"type": "channel", "channel": map[string]any{"team": team.Name, "name": channelName, "display_name": "Channel key 2,000", "type": "P"}},
	}
	for i := range usernames {
		usernames[i] = fmt.Sprintf("%s-%04d", prefix, i)
		// An external auth service: no password, so no bcrypt per user (the import would hash one).
		lines = append(lines, map[string]any{"type": "user", "user": map[string]any{
			"username": usernames[i], "email": usernames[i] + "@example.com", "auth_service": "gitlab", "auth_data": usernames[i],
			// No mail for being added to the channel (2,000 mails to the sink would dominate the test).
			"notify_props": map[string]any{"email": "false"},
			"teams":        []any{map[string]any{"name": team.Name, "channels": []any{map[string]any{"name": channelName}}}},
		}})
	}
	// Whatever happens, the imported users are deactivated afterwards (an import cannot do that),
	// so that the 250 active users limit lets later tests create users.
	t.Cleanup(func() {
		cleanupStarted := time.Now()
		var users []struct {
			ID string `json:"id"`
		}
		w.admin.t = t
		w.admin.mustJSON("POST", "/api/v4/users/usernames", usernames, http.StatusOK, &users)
		eachOf8(t, len(users), func(i int) error {
			r := local.raw("PUT", "/api/v4/users/"+users[i].ID+"/active", strings.NewReader(`{"active":false}`), "application/json")
			if r.status != http.StatusOK {
				return fmt.Errorf("deactivating %s: %d %s", users[i].ID, r.status, r.body)
			}
			return nil
		})
		var stats struct {
			TotalUsersCount int `json:"total_users_count"`
		}
		w.admin.t = t
		w.admin.mustJSON("GET", "/api/v4/users/stats", nil, http.StatusOK, &stats)
		assert.Less(t, stats.TotalUsersCount, 250, "the imported users are deactivated")
		t.Logf("deactivating %d users: %.1fs; whole test %.1fs", len(users), time.Since(cleanupStarted).Seconds(), time.Since(started).Seconds())
	})
	local.bulkImport(lines)
	lap(fmt.Sprintf("import of %d users into a team and a channel", imported))

	var users []struct {
		ID       string `json:"id"`
		Username string `json:"username"`
	}
	w.admin.mustJSON("POST", "/api/v4/users/usernames", usernames, http.StatusOK, &users)
	require.Len(t, users, imported)
	var ch struct {
		ID string `json:"id"`
	}
	local.mustJSON("GET", "/api/v4/teams/"+team.ID+"/channels/name/"+channelName, nil, http.StatusOK, &ch)

	// Every member registers a key with a proof of possession, with its own session.
	type keyed struct {
		c       *client
		pubFile string
	}
	memberKeys := make([]keyed, len(users))
	eachOf8(t, len(users), func(i int) error {
		var tok struct {
			Token string `json:"token"`
		}
		r := local.raw("POST", "/api/v4/users/"+users[i].ID+"/tokens", strings.NewReader(`{"description":"channel-key integration test"}`), "application/json")
		if r.status != http.StatusOK {
			return fmt.Errorf("token for %s: %d %s", users[i].Username, r.status, r.body)
		}
		if err := json.Unmarshal(r.body, &tok); err != nil {
			return err
		}
		c := &client{t: t, e: w.e, token: tok.Token, userID: users[i].ID, name: users[i].Username}
		pub, signer := freshKey(t)
		if r := c.pushKey(pub, signer, nil); r.status != http.StatusOK {
			return fmt.Errorf("key push of %s: %d %s", users[i].Username, r.status, r.body)
		}
		data, _ := json.Marshal(pub)
		file := filepath.Join(dir, users[i].ID+".pub")
		memberKeys[i] = keyed{c, file}
		return os.WriteFile(file, data, 0o600)
	})
	lap(fmt.Sprintf("%d sessions and key pushes with proof of possession", imported))

	// alice (she makes the records) and a reader join and alice turns channel-key mode on.
	for _, u := range []*ckUser{alice, reader} {
		local.mustJSON("POST", "/api/v4/teams/"+team.ID+"/members", map[string]string{"team_id": team.ID, "user_id": u.userID}, http.StatusCreated, nil)
	}
	local.mustJSON("POST", "/api/v4/channels/"+ch.ID+"/members", map[string]string{"user_id": alice.userID}, http.StatusCreated, nil)
	r := alice.plugin("POST", "/channel/encryption_method?chanID="+ch.ID+"&method=channel", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	// One reader with a CLI key too, placed last: its wrap is in the record's last part.
	removed := memberKeys[0].c

	record := func(epoch int, members []keyed) (string, fullRecord) {
		args := []string{"epoch", "new", "--key", alice.keyFile, "--channel", ch.ID, "--epoch", fmt.Sprint(epoch), "--user", alice.userID,
			"--to", alice.userID + "=" + alice.pubFile}
		for _, m := range members {
			args = append(args, "--to", m.c.userID+"="+m.pubFile)
		}
		out := cli(t, "", args...)
		var rec fullRecord
		require.NoError(t, json.Unmarshal([]byte(out), &rec))
		file := filepath.Join(dir, fmt.Sprintf("record-%d.json", epoch))
		require.NoError(t, os.WriteFile(file, []byte(out), 0o600))
		return file, rec
	}
	// The reader replaces one imported member, so that the channel has exactly 2,000 members.
	local.mustJSON("DELETE", "/api/v4/channels/"+ch.ID+"/members/"+memberKeys[len(memberKeys)-1].c.userID, nil, http.StatusOK, nil)
	local.mustJSON("POST", "/api/v4/channels/"+ch.ID+"/members", map[string]string{"user_id": reader.userID}, http.StatusCreated, nil)
	members := append(append([]keyed{}, memberKeys[:len(memberKeys)-1]...), keyed{reader.client, reader.pubFile})
	var stats struct {
		MemberCount int `json:"member_count"`
	}
	w.admin.mustJSON("GET", "/api/v4/channels/"+ch.ID+"/stats", nil, http.StatusOK, &stats)
	require.Equal(t, 2000, stats.MemberCount)
	lap("alice and the reader with CLI keys; channel-key mode on")

	rec1File, rec1 := record(1, members)
	lap("record for 2,000 members made by the CLI (the web app's crypto core)")
	require.Len(t, rec1.Parts, 5, "2,000 wraps travel in 5 parts of at most 400")
	for _, part := range rec1.Parts {
		assert.Len(t, part, 400)
	}
	r = commit(t, alice.client, rec1)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	lap("5 parts uploaded and the record committed by the server")

	// The reader is served the header and its own part (the last), as the server stored them.
	var served struct {
		Header struct {
			PartHashes []string `json:"partHashes"`
		} `json:"header"`
		Part  int        `json:"part"`
		Wraps [][]string `json:"wraps"`
	}
	r = reader.plugin("GET", fmt.Sprintf("/channel/epoch?chanID=%s&epoch=1", ch.ID), nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r.json(t, &served)
	require.Equal(t, 4, served.Part)
	require.Len(t, served.Header.PartHashes, 5)
	assert.Equal(t, partHash(4, rec1.Parts[4]), served.Header.PartHashes[4])
	assert.Equal(t, rec1.Parts[4], served.Wraps)

	r = alice.createPost(v3post(ch.ID, encryptV3(t, alice, rec1File, ch.ID, "to 2,000 members", alice)))
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	var p post
	r.json(t, &p)
	raw, _ := json.Marshal(p.Props["e2ee"])
	assert.Less(t, len(raw), 1024, "a channel-key post does not grow with the member count")
	text, code := decryptV3(t, reader, alice, alice, rec1File, ch.ID, p.Props["e2ee"])
	assert.Equal(t, 0, code)
	assert.Equal(t, "to 2,000 members", text)
	lap("v3 post accepted and read by the last part's member")

	// A member is removed: the epoch is stale and refused; the next one, for 1,999, is committed.
	local.mustJSON("DELETE", "/api/v4/channels/"+ch.ID+"/members/"+removed.userID, nil, http.StatusOK, nil)
	r = alice.createPost(v3post(ch.ID, encryptV3(t, alice, rec1File, ch.ID, "stale epoch", alice)))
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	assert.Contains(t, string(r.body), "stale")
	rec2File, rec2 := record(2, members[1:])
	require.Len(t, rec2.Parts, 5)
	assert.Len(t, rec2.Parts[4], 399)
	r = commit(t, alice.client, rec2)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r = alice.createPost(v3post(ch.ID, encryptV3(t, alice, rec2File, ch.ID, "to 1,999 members", alice)))
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	r.json(t, &p)
	text, code = decryptV3(t, reader, alice, alice, rec2File, ch.ID, p.Props["e2ee"])
	assert.Equal(t, 0, code)
	assert.Equal(t, "to 1,999 members", text)
	// The removed member is not served the new epoch.
	r = removed.plugin("GET", fmt.Sprintf("/channel/epoch?chanID=%s&epoch=2", ch.ID), nil)
	assert.Equal(t, http.StatusForbidden, r.status, "%s", r.body)
	for _, p := range alice.channelPosts(ch.ID) {
		for _, secret := range []string{"to 2,000 members", "to 1,999 members"} {
			assert.NotContains(t, p.Message, secret)
			raw, _ := json.Marshal(p.Props)
			assert.NotContains(t, string(raw), secret)
		}
	}
	lap("removal, stale epoch refused, rotation for 1,999 committed, post accepted")
}
