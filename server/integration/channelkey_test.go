//go:build integration

package integration

// Channel-key mode against the real server, as hostile and honest clients: records and v3
// messages are made by the web app's crypto core through the mm-e2ee CLI (real crypto).

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ckUser is a logged-in user with a key made by the CLI and pushed to the server.
type ckUser struct {
	*client
	keyFile, pubFile string
}

func newCKUser(t *testing.T, w *world, dir, prefix string) *ckUser {
	c := w.e.newUser(t, w.admin, prefix)
	keyFile := filepath.Join(dir, c.name+".key")
	require.NoError(t, os.WriteFile(keyFile, []byte(cli(t, "", "keygen")), 0o600))
	pubJSON := strings.SplitN(cli(t, "", "pubkey", keyFile), "\n", 2)[0]
	pubFile := filepath.Join(dir, c.name+".pub")
	require.NoError(t, os.WriteFile(pubFile, []byte(pubJSON), 0o600))
	var pub map[string]string
	require.NoError(t, json.Unmarshal([]byte(pubJSON), &pub))
	proof := strings.TrimSpace(cli(t, "", "push-proof", "--key", keyFile, "--user", c.userID, "--nonce", c.nonce()))
	r := c.plugin("POST", "/pubkey/push", map[string]any{"pubkey": pub, "proof": proof})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	return &ckUser{client: c, keyFile: keyFile, pubFile: pubFile}
}

type fullRecord struct {
	Version    int          `json:"version"`
	ChannelID  string       `json:"channelId"`
	Epoch      uint64       `json:"epoch"`
	CreatorID  string       `json:"creatorId"`
	CreatedAt  uint64       `json:"createdAt"`
	PubECDHE   string       `json:"pubECDHE"`
	Commitment string       `json:"commitment"`
	Parts      [][][]string `json:"parts"`
	Signature  string       `json:"signature"`
}

// partHash restates docs/design.md §13.3: SHA-256(framed(L_PART, u32be(i), u32be(m), wraps...)).
func partHash(i int, wraps [][]string) string {
	var data []byte
	frame := func(b []byte) {
		data = binary.BigEndian.AppendUint32(data, uint32(len(b)))
		data = append(data, b...)
	}
	frame([]byte("mm-e2ee/channel/v3/wraps-part"))
	frame(binary.BigEndian.AppendUint32(nil, uint32(i)))
	frame(binary.BigEndian.AppendUint32(nil, uint32(len(wraps))))
	for _, w := range wraps {
		id, _ := base64.StdEncoding.DecodeString(w[1])
		wr, _ := base64.StdEncoding.DecodeString(w[2])
		frame([]byte(w[0]))
		frame(id)
		frame(wr)
	}
	h := sha256.Sum256(data)
	return base64.StdEncoding.EncodeToString(h[:])
}

// newRecord runs `mm-e2ee epoch new` as creator for the given members (user ID = key file).
func newRecord(t *testing.T, creator *ckUser, channelID string, epoch int, members map[string]string) (string, fullRecord) {
	args := []string{"epoch", "new", "--key", creator.keyFile, "--channel", channelID, "--epoch", fmt.Sprint(epoch), "--user", creator.userID}
	for id, file := range members {
		args = append(args, "--to", id+"="+file)
	}
	out := cli(t, "", args...)
	var rec fullRecord
	require.NoError(t, json.Unmarshal([]byte(out), &rec))
	file := filepath.Join(t.TempDir(), fmt.Sprintf("record-%d.json", epoch))
	require.NoError(t, os.WriteFile(file, []byte(out), 0o600))
	return file, rec
}

// commit uploads the parts, then the header form, as the web app does.
func commit(t *testing.T, c *client, rec fullRecord) response {
	c.t = t
	c2, _ := base64.StdEncoding.DecodeString(rec.Commitment)
	tag := fmt.Sprintf("%x", c2[:8])
	hashes := make([]string, len(rec.Parts))
	for i, part := range rec.Parts {
		hashes[i] = partHash(i, part)
		r := c.plugin("POST", fmt.Sprintf("/channel/epoch/part?chanID=%s&epoch=%d&tag=%s&part=%d", rec.ChannelID, rec.Epoch, tag, i), part)
		if r.status != http.StatusOK {
			return r
		}
	}
	header := map[string]any{"version": 3, "channelId": rec.ChannelID, "epoch": rec.Epoch, "creatorId": rec.CreatorID, "createdAt": rec.CreatedAt,
		"pubECDHE": rec.PubECDHE, "commitment": rec.Commitment, "partHashes": hashes, "signature": rec.Signature}
	return c.plugin("POST", "/channel/epoch?chanID="+rec.ChannelID, header)
}

func encryptV3(t *testing.T, sender *ckUser, recordFile, channelID, text string, creator *ckUser) map[string]any {
	out := cli(t, text, "encrypt", "--format", "channel", "--epoch-record", recordFile, "--key", sender.keyFile, "--creator", creator.pubFile,
		"--channel", channelID, "--root", "", "--user", sender.userID)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &m))
	require.EqualValues(t, 3, m["version"])
	return m
}

// decryptV3 runs the CLI as reader; returns stdout and the exit code.
func decryptV3(t *testing.T, reader *ckUser, sender, creator *ckUser, recordFile, channelID string, msg any) (string, int) {
	path, _ := filepath.Abs("../../webapp/dist-cli/mm-e2ee.js")
	data, _ := json.Marshal(msg)
	cmd := exec.Command("node", path, "decrypt", "--key", reader.keyFile, "--sender", sender.pubFile, "--creator", creator.pubFile,
		"--epoch-record", recordFile, "--channel", channelID, "--root", "", "--user", sender.userID)
	cmd.Stdin = strings.NewReader(string(data))
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	}
	require.NoError(t, err)
	return string(out), 0
}

func v3post(channelID string, e2ee map[string]any) post {
	return post{ChannelID: channelID, Type: "custom_e2ee", Message: placeholder, Props: map[string]any{"e2ee": e2ee}}
}

func newChannelKeyChannel(t *testing.T, owner *client, others ...*client) string {
	var ch struct {
		ID string `json:"id"`
	}
	owner.mustJSON("POST", "/api/v4/channels", map[string]string{
		"team_id": owner.e.teamID, "name": randomName("it-ck-"), "display_name": "Integration channel key", "type": "P",
	}, http.StatusCreated, &ch)
	for _, o := range others {
		owner.mustJSON("POST", "/api/v4/channels/"+ch.ID+"/members", map[string]string{"user_id": o.userID}, http.StatusCreated, nil)
	}
	r := owner.plugin("POST", "/channel/encryption_method?chanID="+ch.ID+"&method=channel", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	return ch.ID
}

func TestChannelKeyRemovalAndExactMembership(t *testing.T) {
	w := setup(t)
	dir := t.TempDir()
	alice, bob, carol := newCKUser(t, w, dir, "ckalice"), newCKUser(t, w, dir, "ckbob"), newCKUser(t, w, dir, "ckcarol")
	ch := newChannelKeyChannel(t, alice.client, bob.client, carol.client)
	assert.Contains(t, bob.command(ch, "/e2ee status"), "channel-key mode")

	all := map[string]string{alice.userID: alice.pubFile, bob.userID: bob.pubFile, carol.userID: carol.pubFile}
	rec1File, rec1 := newRecord(t, alice, ch, 1, all)
	r := commit(t, alice.client, rec1)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)

	msg := encryptV3(t, alice, rec1File, ch, "before the removal", alice)
	r = alice.createPost(v3post(ch, msg))
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	var stored post
	r.json(t, &stored)
	assert.Equal(t, placeholder, stored.Message)
	text, code := decryptV3(t, carol, alice, alice, rec1File, ch, stored.Props["e2ee"])
	assert.Equal(t, 0, code)
	assert.Equal(t, "before the removal", text)

	// carol is removed: the epoch is stale, a post under it is refused.
	alice.mustJSON("DELETE", "/api/v4/channels/"+ch+"/members/"+carol.userID, nil, http.StatusOK, nil)
	r = alice.createPost(v3post(ch, encryptV3(t, alice, rec1File, ch, "stale epoch", alice)))
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	assert.Contains(t, string(r.body), "stale")

	// Records that keep carol, or leave out bob, are refused; nothing changes.
	_, withCarol := newRecord(t, alice, ch, 2, all)
	r = commit(t, alice.client, withCarol)
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	assert.Contains(t, errorOf(t, r), "not a member")
	_, withoutBob := newRecord(t, alice, ch, 2, map[string]string{alice.userID: alice.pubFile})
	r = commit(t, alice.client, withoutBob)
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	assert.Contains(t, errorOf(t, r), "leaves out")
	// bob cannot commit a record signed by alice
	_, rec2 := newRecord(t, alice, ch, 2, map[string]string{alice.userID: alice.pubFile, bob.userID: bob.pubFile})
	r = commit(t, bob.client, rec2)
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)

	rec2File, rec2 := newRecord(t, alice, ch, 2, map[string]string{alice.userID: alice.pubFile, bob.userID: bob.pubFile})
	r = commit(t, alice.client, rec2)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r = alice.createPost(v3post(ch, encryptV3(t, alice, rec2File, ch, "after the removal", alice)))
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	r.json(t, &stored)
	text, code = decryptV3(t, bob, alice, alice, rec2File, ch, stored.Props["e2ee"])
	assert.Equal(t, 0, code)
	assert.Equal(t, "after the removal", text)
	// carol, even holding epoch 1's key and the new record, has no copy: exit 4. The server no
	// longer serves her the channel's records either.
	_, code = decryptV3(t, carol, alice, alice, rec2File, ch, stored.Props["e2ee"])
	assert.Equal(t, 4, code)
	r = carol.plugin("GET", "/channel/epoch?chanID="+ch+"&epoch=2", nil)
	assert.Equal(t, http.StatusForbidden, r.status)
	// epoch 1 is not within grace (it was stale): refused
	r = alice.createPost(v3post(ch, encryptV3(t, alice, rec1File, ch, "old epoch", alice)))
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	// Everything the server stored for the channel is ciphertext.
	for _, p := range bob.channelPosts(ch) {
		assert.NotContains(t, p.Message, "removal")
	}
}

// readRecord rebuilds a full record (single part) from what the server serves a member.
func readRecord(t *testing.T, c *client, channelID string, epoch uint64) string {
	var res struct {
		Header map[string]any `json:"header"`
		Part   int            `json:"part"`
		Wraps  [][]string     `json:"wraps"`
	}
	r := c.plugin("GET", fmt.Sprintf("/channel/epoch?chanID=%s&epoch=%d", channelID, epoch), nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r.json(t, &res)
	require.Equal(t, 0, res.Part)
	require.Len(t, res.Header["partHashes"], 1)
	full := map[string]any{}
	for k, v := range res.Header {
		if k != "partHashes" {
			full[k] = v
		}
	}
	full["parts"] = [][][]string{res.Wraps}
	data, _ := json.Marshal(full)
	file := filepath.Join(t.TempDir(), "served.json")
	require.NoError(t, os.WriteFile(file, data, 0o600))
	return file
}

func TestChannelKeyConcurrentRotationsNoLostPost(t *testing.T) {
	w := setup(t)
	dir := t.TempDir()
	alice, bob := newCKUser(t, w, dir, "ckalice"), newCKUser(t, w, dir, "ckbob")
	ch := newChannelKeyChannel(t, alice.client, bob.client)
	both := map[string]string{alice.userID: alice.pubFile, bob.userID: bob.pubFile}
	aFile, aRec := newRecord(t, alice, ch, 1, both)
	bFile, bRec := newRecord(t, bob, ch, 1, both)
	codes := make([]int, 2)
	var wg sync.WaitGroup
	for i, job := range []struct {
		c   *client
		rec fullRecord
	}{{alice.client, aRec}, {bob.client, bRec}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = commit(t, job.c, job.rec).status
		}()
	}
	wg.Wait()
	assert.ElementsMatch(t, []int{http.StatusOK, http.StatusConflict}, codes)
	winner, winnerFile, loser := alice, aFile, bob
	if codes[1] == http.StatusOK {
		winner, winnerFile, loser = bob, bFile, alice
	}
	// The loser adopts the winner's record as the server serves it and re-encrypts its post.
	served := readRecord(t, loser.client, ch, 1)
	r := loser.createPost(v3post(ch, encryptV3(t, loser, served, ch, "loser's post", winner)))
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	r = winner.createPost(v3post(ch, encryptV3(t, winner, winnerFile, ch, "winner's post", winner)))
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	texts := map[string]bool{}
	for _, p := range alice.channelPosts(ch) {
		if p.Type != "custom_e2ee" {
			continue
		}
		sender := alice
		if p.UserID == bob.userID {
			sender = bob
		}
		text, code := decryptV3(t, alice, sender, winner, winnerFile, ch, p.Props["e2ee"])
		require.Equal(t, 0, code)
		texts[text] = true
	}
	assert.Equal(t, map[string]bool{"loser's post": true, "winner's post": true}, texts)
}

// A v3 post is edited as v3 (PATCH, as the web app's editor does): accepted under the current
// epoch, refused under a stale one, like a new post. The stored edit stays ciphertext.
func TestChannelKeyEditStaysV3(t *testing.T) {
	w := setup(t)
	dir := t.TempDir()
	alice, bob, carol := newCKUser(t, w, dir, "ckealice"), newCKUser(t, w, dir, "ckebob"), newCKUser(t, w, dir, "ckecarol")
	ch := newChannelKeyChannel(t, alice.client, bob.client, carol.client)
	all := map[string]string{alice.userID: alice.pubFile, bob.userID: bob.pubFile, carol.userID: carol.pubFile}
	rec1File, rec1 := newRecord(t, alice, ch, 1, all)
	r := commit(t, alice.client, rec1)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r = alice.createPost(v3post(ch, encryptV3(t, alice, rec1File, ch, "first version", alice)))
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	var stored post
	r.json(t, &stored)

	edited := encryptV3(t, alice, rec1File, ch, "second version", alice)
	r = alice.do("PUT", "/api/v4/posts/"+stored.ID+"/patch", map[string]any{"message": placeholder, "props": map[string]any{"e2ee": edited}})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var after post
	r.json(t, &after)
	assert.Equal(t, placeholder, after.Message)
	text, code := decryptV3(t, bob, alice, alice, rec1File, ch, after.Props["e2ee"])
	assert.Equal(t, 0, code)
	assert.Equal(t, "second version", text)

	// carol is removed: epoch 1 is stale, an edit under it is refused and changes nothing.
	alice.mustJSON("DELETE", "/api/v4/channels/"+ch+"/members/"+carol.userID, nil, http.StatusOK, nil)
	r = alice.do("PUT", "/api/v4/posts/"+stored.ID+"/patch", map[string]any{"message": placeholder, "props": map[string]any{"e2ee": encryptV3(t, alice, rec1File, ch, "third version", alice)}})
	assert.GreaterOrEqual(t, r.status, 400, "%s", r.body)
	for _, p := range bob.channelPosts(ch) {
		assert.NotContains(t, p.Message, "version")
		if p.ID == stored.ID {
			text, _ := decryptV3(t, bob, alice, alice, rec1File, ch, p.Props["e2ee"])
			assert.Equal(t, "second version", text)
		}
	}
	// A new epoch for the remaining members: the edit under it passes.
	rec2File, rec2 := newRecord(t, alice, ch, 2, map[string]string{alice.userID: alice.pubFile, bob.userID: bob.pubFile})
	r = commit(t, alice.client, rec2)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r = alice.do("PUT", "/api/v4/posts/"+stored.ID+"/patch", map[string]any{"message": placeholder, "props": map[string]any{"e2ee": encryptV3(t, alice, rec2File, ch, "third version", alice)}})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r.json(t, &after)
	text, code = decryptV3(t, bob, alice, alice, rec2File, ch, after.Props["e2ee"])
	assert.Equal(t, 0, code)
	assert.Equal(t, "third version", text)
}

// The header lock asks for method=auto: the real server chooses by ChannelKeyThreshold.
func TestSetMethodAutoByThreshold(t *testing.T) {
	w := setup(t)
	dir := t.TempDir()
	alice, bob, carol := newCKUser(t, w, dir, "ckaalice"), newCKUser(t, w, dir, "ckabob"), newCKUser(t, w, dir, "ckacarol")
	ch := newChannelKeyChannel(t, alice.client, bob.client, carol.client)
	set := func(method string) string {
		r := alice.plugin("POST", "/channel/encryption_method?chanID="+ch+"&method="+method, nil)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var res struct {
			Method string `json:"method"`
		}
		r.json(t, &res)
		return res.Method
	}
	assert.Equal(t, "channel", set("auto"), "an encrypted channel keeps its mode")
	set("none")
	previous := w.pluginSetting(t, "channelkeythreshold")
	if _, ok := previous.(float64); !ok {
		previous = 50 // unset: the default
	}
	defer w.setPluginSetting(t, "channelkeythreshold", previous)
	w.setPluginSetting(t, "channelkeythreshold", 50)
	eventually(t, 15*time.Second, func() bool {
		if set("auto") == "p2p" {
			return true
		}
		set("none")
		return false
	}, "auto chooses p2p below the threshold")
	set("none")
	w.setPluginSetting(t, "channelkeythreshold", 3)
	eventually(t, 15*time.Second, func() bool {
		if set("auto") == "channel" {
			return true
		}
		set("none")
		return false
	}, "auto chooses channel-key mode from the threshold on")
	assert.Contains(t, bob.command(ch, "/e2ee status"), "channel-key mode")
}
