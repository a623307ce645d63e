//go:build integration

package integration

// Two Mattermost servers on one PostgreSQL database (make ha-test, docs/design.md §16): the
// second one is started by build/mm-second.sh with the same database, file store and plugin.
// Team Edition without a license has no cluster messaging, so each server keeps its own caches
// (channels, users, sessions, and the channel memberships the server checks before a post); the
// plugin keeps its state in the KV store, moves it by compare-and-set and reads memberships from
// the database. The tests therefore set up every membership through the first server before a
// user acts through the second, and remove members through one server and check on the other
// only what the plugin decides.

import (
	"database/sql"
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

// haSetup returns the shared world on the first server and the env of the second one.
func haSetup(t *testing.T) (*world, *env) {
	site := strings.TrimSuffix(os.Getenv("MM_SECOND_SITE_URL"), "/")
	if site == "" {
		t.Fatal("no second server: run `make ha-test` (or `make mm-up-ha`, then source .mattermost/env and .mattermost/env2)")
	}
	w := setup(t)
	require.NotEqual(t, w.e.site, site, "the second server must have its own address")
	require.NotEqual(t, os.Getenv("MM_PID"), os.Getenv("MM_SECOND_PID"), "the second server must be another process")
	eb := *w.e
	eb.site = site
	// The plugin runs on the second server: its API answers there.
	r := w.admin.on(&eb).plugin("GET", "/gpg/key_server", nil)
	require.Equal(t, http.StatusOK, r.status, "the plugin does not answer on the second server: %s", r.body)
	return w, &eb
}

// on is c talking to the server of e with the same session (sessions are in the database).
func (c *client) on(e *env) *client {
	return &client{t: c.t, e: e, token: c.token, userID: c.userID, name: c.name}
}

func (u *ckUser) on(e *env) *ckUser {
	return &ckUser{client: u.client.on(e), keyFile: u.keyFile, pubFile: u.pubFile}
}

// parallel runs the functions at once and waits for all of them.
func parallel(fs ...func()) {
	var wg sync.WaitGroup
	for _, f := range fs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}
	wg.Wait()
}

// haCounters are the admin view's counters that the plugin keeps in stats:v1 (docs/design.md §14.4).
type haCounters struct {
	ActiveUsers        int            `json:"active_users"`
	ActiveUsersWithKey int            `json:"active_users_with_key"`
	EncryptedChannels  map[string]int `json:"encrypted_channels"`
	EncryptedDirect    int            `json:"encrypted_direct"`
	KeysLast30Days     int            `json:"keys_last_30_days"`
}

func counters(t *testing.T, admin *client) haCounters {
	var s haCounters
	admin.mustJSON("GET", "/plugins/"+admin.e.pluginID+"/api/v1/admin/stats", nil, http.StatusOK, &s)
	return s
}

func recount(t *testing.T, admin *client) haCounters {
	var s haCounters
	admin.mustJSON("POST", "/plugins/"+admin.e.pluginID+"/api/v1/admin/stats/recount", nil, http.StatusOK, &s)
	return s
}

// deactivateLater keeps the unlicensed server under its cap of active users.
func deactivateLater(t *testing.T, admin *client, users ...*client) {
	t.Cleanup(func() {
		for _, u := range users {
			admin.do("DELETE", "/api/v4/users/"+u.userID, nil)
		}
	})
}

type haKeyEntry struct {
	Pubkey map[string]string `json:"pubkey"`
	Since  int64             `json:"since"`
}

// TestHAKeyPushesThroughBothServers: users replace their keys concurrently, each taking the nonce
// from one server and pushing through the other; no key is lost, one proof is used once whichever
// servers it is sent to, one key gets one owner, and the counters equal a recount.
func TestHAKeyPushesThroughBothServers(t *testing.T) {
	start := time.Now()
	w, eb := haSetup(t)
	servers := []*env{w.e, eb}
	adminB := w.admin.on(eb)
	const users, rounds = 8, 4
	clients := make([]*client, users)
	for i := range clients {
		clients[i] = w.e.newUser(t, w.admin, "haky")
	}
	deactivateLater(t, w.admin, clients...)
	// Start from counters equal to a recount (earlier suites write the KV directly).
	recount(t, adminB)

	pushed := make([][]map[string]string, users)
	statuses := make([][]int, users)
	fs := make([]func(), users)
	for i, c := range clients {
		fs[i] = func() {
			for r := range rounds {
				from, to := c.on(servers[(i+r)%2]), c.on(servers[(i+r+1)%2])
				pub, sign := freshKey(t)
				resp := to.plugin("POST", "/pubkey/push", map[string]any{"pubkey": pub, "proof": proofBy(t, sign, c.userID, from.nonce())})
				pushed[i] = append(pushed[i], pub)
				statuses[i] = append(statuses[i], resp.status)
			}
		}
	}
	parallel(fs...)
	for i := range clients {
		assert.Equal(t, []int{200, 200, 200, 200}, statuses[i], "user %d", i)
	}

	// One proof sent through both servers at once: its nonce is used once.
	c := clients[0]
	pub, sign := freshKey(t)
	body := map[string]any{"pubkey": pub, "proof": proofBy(t, sign, c.userID, c.nonce())}
	codes := make([]int, 2)
	parallel(
		func() { codes[0] = c.plugin("POST", "/pubkey/push", body).status },
		func() { codes[1] = c.on(eb).plugin("POST", "/pubkey/push", body).status },
	)
	assert.ElementsMatch(t, []int{http.StatusOK, http.StatusForbidden}, codes)
	pushed[0] = append(pushed[0], pub)

	// One new key pushed by two users at once, through different servers: one owner.
	u, v := clients[1], clients[2].on(eb)
	shared, sharedSign := freshKey(t)
	bodyU := map[string]any{"pubkey": shared, "proof": proofBy(t, sharedSign, u.userID, u.nonce())}
	bodyV := map[string]any{"pubkey": shared, "proof": proofBy(t, sharedSign, v.userID, v.nonce())}
	parallel(
		func() { codes[0] = u.plugin("POST", "/pubkey/push", bodyU).status },
		func() { codes[1] = v.plugin("POST", "/pubkey/push", bodyV).status },
	)
	assert.ElementsMatch(t, []int{http.StatusOK, http.StatusForbidden}, codes)
	if codes[0] == http.StatusOK {
		pushed[1] = append(pushed[1], shared)
	} else {
		pushed[2] = append(pushed[2], shared)
	}

	// Every accepted key is in its user's history, in order, read through either server; the
	// current key is the last one.
	ids := make([]string, users)
	for i, c := range clients {
		ids[i] = c.userID
	}
	for s, e := range servers {
		var hist struct {
			History map[string][]haKeyEntry `json:"history"`
		}
		w.admin.on(e).mustJSON("POST", "/plugins/"+e.pluginID+"/api/v1/pubkey/history", map[string]any{"userIds": ids}, http.StatusOK, &hist)
		var cur struct {
			PubKeys map[string]map[string]string `json:"pubKeys"`
		}
		w.admin.on(e).mustJSON("POST", "/plugins/"+e.pluginID+"/api/v1/pubkey/get", map[string]any{"userIds": ids}, http.StatusOK, &cur)
		for i, id := range ids {
			got := make([]map[string]string, 0, len(hist.History[id]))
			for _, h := range hist.History[id] {
				got = append(got, h.Pubkey)
			}
			assert.Equal(t, pushed[i], got, "history of user %d through server %d", i, s+1)
			assert.Equal(t, pushed[i][len(pushed[i])-1], cur.PubKeys[id], "current key of user %d through server %d", i, s+1)
		}
	}

	// The counters, updated by compare-and-set from both servers, equal a recount.
	before := counters(t, w.admin)
	assert.Equal(t, before, counters(t, adminB))
	assert.Equal(t, recount(t, adminB), before)
	t.Logf("%d users x %d key replacements through two servers (+2 races): %s", users, rounds, time.Since(start).Round(time.Millisecond))
}

// TestHAModeChangesThroughBothServers: members switch channels between P2P, channel-key and
// no encryption through both servers at once; both servers then report and enforce the same
// mode, and the counters equal a recount.
func TestHAModeChangesThroughBothServers(t *testing.T) {
	start := time.Now()
	w, eb := haSetup(t)
	owner := w.e.newUser(t, w.admin, "hamode")
	deactivateLater(t, w.admin, owner)
	const channels, changes = 6, 12
	ids := make([]string, channels)
	for i := range ids {
		var ch struct {
			ID string `json:"id"`
		}
		owner.mustJSON("POST", "/api/v4/channels", map[string]string{
			"team_id": w.e.teamID, "name": randomName("it-ha-"), "display_name": "HA modes", "type": "P",
		}, http.StatusCreated, &ch)
		ids[i] = ch.ID
	}
	ownerB, adminB := owner.on(eb), w.admin.on(eb)
	recount(t, w.admin)

	modes := []string{"p2p", "channel", "none"}
	var mu sync.Mutex
	got := map[int]int{}
	var fs []func()
	for i, id := range ids {
		// Two writers per channel, one per server, each with its own sequence of modes.
		for s, c := range []*client{owner, ownerB} {
			fs = append(fs, func() {
				for k := range changes / 2 {
					mode := modes[(i+k*(s+1))%len(modes)]
					r := c.plugin("POST", "/channel/encryption_method?chanID="+id+"&method="+mode, nil)
					mu.Lock()
					got[r.status]++
					mu.Unlock()
				}
			})
		}
	}
	parallel(fs...)
	// 409 is the clean refusal of a change that lost its compare-and-set races (nothing changed).
	for status := range got {
		assert.Contains(t, []int{http.StatusOK, http.StatusConflict}, status, "statuses: %v", got)
	}
	assert.Positive(t, got[http.StatusOK], "statuses: %v", got)

	for _, id := range ids {
		var a, b struct {
			Method string `json:"method"`
		}
		owner.mustJSON("GET", "/plugins/"+w.e.pluginID+"/api/v1/channel/encryption_method?chanID="+id, nil, http.StatusOK, &a)
		ownerB.mustJSON("GET", "/plugins/"+w.e.pluginID+"/api/v1/channel/encryption_method?chanID="+id, nil, http.StatusOK, &b)
		require.Equal(t, a.Method, b.Method, "channel %s", id)
		// Enforcement holds on both servers, from the mode the other server wrote.
		for s, c := range []*client{owner, ownerB} {
			text := randomName("ha plaintext ")
			r := c.createPost(post{ChannelID: id, Message: text})
			if a.Method == "none" {
				assert.Equal(t, http.StatusCreated, r.status, "plain channel, server %d: %s", s+1, r.body)
			} else {
				assert.Equal(t, http.StatusBadRequest, r.status, "%s channel, server %d: %s", a.Method, s+1, r.body)
				for _, p := range ownerB.channelPosts(id) {
					assert.NotContains(t, p.Message, text)
				}
			}
		}
	}
	// The mode of a channel changed through one server is enforced by the other at once.
	id := ids[0]
	r := owner.plugin("POST", "/channel/encryption_method?chanID="+id+"&method=p2p", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r = ownerB.createPost(post{ChannelID: id, Message: "plaintext right after the switch"})
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	r = ownerB.plugin("POST", "/channel/encryption_method?chanID="+id+"&method=none", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r = owner.createPost(post{ChannelID: id, Message: "plaintext after encryption was turned off"})
	assert.Equal(t, http.StatusCreated, r.status, "%s", r.body)

	before := counters(t, w.admin)
	assert.Equal(t, before, counters(t, adminB))
	assert.Equal(t, recount(t, adminB), before)
	t.Logf("%d mode changes on %d channels through two servers (%v): %s", channels*changes, channels, got, time.Since(start).Round(time.Millisecond))
}

// epochHeadKV reads a channel's head straight from the database (the KV row both servers share).
func epochHeadKV(t *testing.T, e *env, channelID string) (head struct {
	Epoch uint64 `json:"epoch"`
	Posts int64  `json:"posts"`
	Stale string `json:"stale"`
}, records int) {
	db, err := sql.Open("postgres", e.dsn)
	require.NoError(t, err)
	defer db.Close()
	var raw []byte
	require.NoError(t, db.QueryRow(`SELECT pvalue FROM pluginkeyvaluestore WHERE pluginid = $1 AND pkey = $2`, e.pluginID, "e3head:"+channelID).Scan(&raw))
	require.NoError(t, json.Unmarshal(raw, &head))
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM pluginkeyvaluestore WHERE pluginid = $1 AND pkey LIKE $2`, e.pluginID, "e3rec:"+channelID+":%").Scan(&records))
	return head, records
}

func epochStatusOf(t *testing.T, c *client, channelID string) (epoch uint64, stale string) {
	var st struct {
		Epoch uint64 `json:"epoch"`
		Stale string `json:"stale"`
	}
	c.mustJSON("GET", "/plugins/"+c.e.pluginID+"/api/v1/channel/epoch/status?chanID="+channelID, nil, http.StatusOK, &st)
	return st.Epoch, st.Stale
}

// servedHeader is an epoch's record as a server serves it to a member.
func servedHeader(t *testing.T, c *client, channelID string, epoch uint64) string {
	var res struct {
		Header json.RawMessage `json:"header"`
	}
	c.mustJSON("GET", fmt.Sprintf("/plugins/%s/api/v1/channel/epoch?chanID=%s&epoch=%d", c.e.pluginID, channelID, epoch), nil, http.StatusOK, &res)
	return string(res.Header)
}

// TestHAChannelKeyThroughBothServers: concurrent epoch rotations through both servers leave one
// head; posts accepted through one server are read and decrypted through the other; a removal
// through one server stales the epoch for both; concurrent posts through both are all counted.
func TestHAChannelKeyThroughBothServers(t *testing.T) {
	start := time.Now()
	w, eb := haSetup(t)
	dir := t.TempDir()
	var alice, bob, carol *ckUser
	parallel(
		func() { alice = newCKUser(t, w, dir, "haalice") },
		func() { bob = newCKUser(t, w, dir, "habob") },
		func() { carol = newCKUser(t, w, dir, "hacarol") },
	)
	deactivateLater(t, w.admin, alice.client, bob.client, carol.client)
	// Every membership is made through the first server before anyone acts through the second.
	ch := newChannelKeyChannel(t, alice.client, bob.client, carol.client)
	var p2p struct {
		ID string `json:"id"`
	}
	alice.mustJSON("POST", "/api/v4/channels", map[string]string{
		"team_id": w.e.teamID, "name": randomName("it-ha-p2p-"), "display_name": "HA P2P", "type": "P",
	}, http.StatusCreated, &p2p)
	alice.mustJSON("POST", "/api/v4/channels/"+p2p.ID+"/members", map[string]string{"user_id": bob.userID}, http.StatusCreated, nil)
	aliceB, bobB, carolB := alice.on(eb), bob.on(eb), carol.on(eb)
	all := map[string]string{alice.userID: alice.pubFile, bob.userID: bob.pubFile, carol.userID: carol.pubFile}

	const rounds = 3
	var winner *ckUser
	for epoch := uint64(1); epoch <= rounds; epoch++ {
		// alice through the first server and bob through the second commit the same epoch at once.
		var aRec, bRec fullRecord
		parallel(
			func() { _, aRec = newRecord(t, alice, ch, int(epoch), all) },
			func() { _, bRec = newRecord(t, bob, ch, int(epoch), all) },
		)
		codes := make([]int, 2)
		parallel(
			func() { codes[0] = commit(t, alice.client, aRec).status },
			func() { codes[1] = commit(t, bobB.client, bRec).status },
		)
		require.ElementsMatch(t, []int{http.StatusOK, http.StatusConflict}, codes, "epoch %d", epoch)
		var loser *ckUser
		winner, loser = alice, bobB
		if codes[1] == http.StatusOK {
			winner, loser = bob, alice
		}
		// One head: both servers serve the same record and status.
		assert.JSONEq(t, servedHeader(t, alice.client, ch, epoch), servedHeader(t, bobB.client, ch, epoch))
		for _, c := range []*client{alice.client, bobB.client} {
			e, stale := epochStatusOf(t, c, ch)
			assert.Equal(t, epoch, e)
			assert.Empty(t, stale)
		}
		// The loser adopts the record its server serves and posts through that server; carol
		// reads the post through the other server and decrypts it.
		text := fmt.Sprintf("epoch %d, from the loser of the race", epoch)
		r := loser.createPost(v3post(ch, encryptV3(t, loser, readRecord(t, loser.client, ch, epoch), ch, text, winner)))
		require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
		var sent post
		r.json(t, &sent)
		reader := carolB
		if loser.e == eb {
			reader = carol
		}
		var stored post
		reader.mustJSON("GET", "/api/v4/posts/"+sent.ID, nil, http.StatusOK, &stored)
		assert.Equal(t, placeholder, stored.Message)
		got, code := decryptV3(t, reader, loser, winner, readRecord(t, reader.client, ch, epoch), ch, stored.Props["e2ee"])
		assert.Equal(t, 0, code)
		assert.Equal(t, text, got)
	}

	// Plaintext is refused through both servers.
	for s, c := range []*client{alice.client, aliceB.client} {
		r := c.createPost(post{ChannelID: ch, Message: fmt.Sprintf("plaintext through server %d", s+1)})
		assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	}

	// carol is removed through the first server: its UserHasLeftChannel hook marks the head stale
	// in the KV, and the second server refuses posts under that epoch at once.
	alice.mustJSON("DELETE", "/api/v4/channels/"+ch+"/members/"+carol.userID, nil, http.StatusOK, nil)
	// The server runs that hook in the background: give it a moment.
	eventually(t, 10*time.Second, func() bool {
		e, stale := epochStatusOf(t, bobB.client, ch)
		return e == rounds && stale == "member_left"
	}, "the second server does not see the epoch made stale through the first")
	r := bobB.createPost(v3post(ch, encryptV3(t, bob, readRecord(t, bobB.client, ch, rounds), ch, "under the stale epoch", winner)))
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	assert.Contains(t, string(r.body), "stale")
	// The plugin reads memberships from the database: carol gets no record through either server.
	for _, c := range []*client{carol.client, carolB.client} {
		r := c.plugin("GET", fmt.Sprintf("/channel/epoch?chanID=%s&epoch=%d", ch, rounds), nil)
		assert.Equal(t, http.StatusForbidden, r.status, "%s", r.body)
	}
	// Through the second server, a record that keeps carol is refused, one without her accepted.
	both := map[string]string{alice.userID: alice.pubFile, bob.userID: bob.pubFile}
	next := uint64(rounds + 1)
	var withCarol, without fullRecord
	var recFile string
	parallel(
		func() { _, withCarol = newRecord(t, bob, ch, int(next), all) },
		func() { recFile, without = newRecord(t, bob, ch, int(next), both) },
	)
	r = commit(t, bobB.client, withCarol)
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	assert.Contains(t, errorOf(t, r), "not a member")
	r = commit(t, bobB.client, without)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)

	// alice and bob post at once through both servers; every post is counted in the head.
	const copies = 5
	msgs := make([]map[string]any, 4)
	parallel(
		func() { msgs[0] = encryptV3(t, alice, recFile, ch, "concurrent 1", bob) },
		func() { msgs[1] = encryptV3(t, alice, recFile, ch, "concurrent 2", bob) },
		func() { msgs[2] = encryptV3(t, bob, recFile, ch, "concurrent 3", bob) },
		func() { msgs[3] = encryptV3(t, bob, recFile, ch, "concurrent 4", bob) },
	)
	var posters []func()
	var mu sync.Mutex
	created := 0
	for m, msg := range msgs {
		for k := range copies {
			sender := []*client{alice.client, aliceB.client}[k%2]
			if m >= 2 {
				sender = []*client{bobB.client, bob.client}[k%2]
			}
			posters = append(posters, func() {
				r := sender.createPost(v3post(ch, msg))
				mu.Lock()
				defer mu.Unlock()
				if assert.Equal(t, http.StatusCreated, r.status, "%s", r.body) {
					created++
				}
			})
		}
	}
	parallel(posters...)
	require.Equal(t, len(msgs)*copies, created)
	// MessageHasBeenPosted (which counts) runs in the background after each post.
	eventually(t, 15*time.Second, func() bool {
		head, _ := epochHeadKV(t, w.e, ch)
		return head.Posts >= int64(len(msgs)*copies)
	}, "the head does not count the posts")
	head, records := epochHeadKV(t, w.e, ch)
	assert.Equal(t, next, head.Epoch, "one head")
	assert.Equal(t, int(next), records, "one record per epoch")
	assert.Empty(t, head.Stale)
	counted := 0
	for _, p := range bobB.channelPosts(ch) {
		if m, ok := p.Props["e2ee"].(map[string]any); ok && p.Type == "custom_e2ee" && m["epoch"] == float64(next) {
			counted++
		}
	}
	assert.Equal(t, len(msgs)*copies, counted, "posts of the last epoch stored")
	assert.Equal(t, int64(counted), head.Posts, "the head counts every post accepted through either server")
	// One of them, accepted through the second server, decrypts for alice reading through the first.
	for _, p := range alice.channelPosts(ch) {
		if m, ok := p.Props["e2ee"].(map[string]any); ok && m["epoch"] == float64(next) && p.UserID == bob.userID {
			text, code := decryptV3(t, alice, bob, bob, readRecord(t, alice.client, ch, next), ch, m)
			assert.Equal(t, 0, code)
			assert.Contains(t, []string{"concurrent 3", "concurrent 4"}, text)
			break
		}
	}

	// P2P (v2): a post accepted through the first server is read and decrypted through the second.
	r = aliceB.plugin("POST", "/channel/encryption_method?chanID="+p2p.ID+"&method=p2p", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	out := cli(t, "p2p across servers", "encrypt", "--key", alice.keyFile, "--to", alice.pubFile, "--to", bob.pubFile,
		"--format", "v2", "--channel", p2p.ID, "--root", "", "--user", alice.userID)
	var v2 map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &v2))
	r = alice.createPost(post{ChannelID: p2p.ID, Type: "custom_e2ee", Message: placeholder, Props: map[string]any{"e2ee": v2}})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	var sent post
	r.json(t, &sent)
	var stored post
	bobB.mustJSON("GET", "/api/v4/posts/"+sent.ID, nil, http.StatusOK, &stored)
	data, err := json.Marshal(stored.Props["e2ee"])
	require.NoError(t, err)
	path, err := filepath.Abs("../../webapp/dist-cli/mm-e2ee.js")
	require.NoError(t, err)
	cmd := exec.Command("node", path, "decrypt", "--key", bob.keyFile, "--sender", alice.pubFile,
		"--channel", p2p.ID, "--root", "", "--user", alice.userID)
	cmd.Stdin = strings.NewReader(string(data))
	plain, err := cmd.Output()
	require.NoError(t, err)
	assert.Equal(t, "p2p across servers", string(plain))
	for s, c := range []*client{alice.client, aliceB.client} {
		r := c.createPost(post{ChannelID: p2p.ID, Message: fmt.Sprintf("plaintext through server %d", s+1)})
		assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	}
	t.Logf("%d contested epochs, a removal, epoch %d and %d concurrent posts through two servers: %s", rounds, next, len(msgs)*copies, time.Since(start).Round(time.Millisecond))
}
