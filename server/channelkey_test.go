package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mme2ee/mattermost-plugin-e2ee/server/e2eeformat"
)

// A record as a client uploads it: header form and parts. The server never unwraps, so wrapped
// keys are random bytes here; signatures are real.
type testRecord struct {
	Epoch      uint64
	Commitment []byte
	Header     []byte
	Parts      [][]byte
}

type member struct {
	id   string
	user *testUser
}

func (u *testUser) keyIDB64(t testing.TB) string {
	id, err := u.pub.ID()
	require.NoError(t, err)
	return b64(id)
}

func (u *testUser) epochRecord(t testing.TB, channelID, creatorID string, epoch uint64, members []member) testRecord {
	var wraps [][]string
	for _, m := range members {
		wraps = append(wraps, []string{m.id, m.user.keyIDB64(t), b64(randBytes(40))})
	}
	h := &e2eeformat.EpochHeader{ChannelID: channelID, Epoch: epoch, CreatorID: creatorID, CreatedAt: 1764160000000,
		PubECDHE: ephemeralPoint(t), Commitment: randBytes(32)}
	rec := testRecord{Epoch: epoch, Commitment: h.Commitment}
	for i := 0; i < len(wraps); i += e2eeformat.PartMax {
		part := wraps[i:min(i+e2eeformat.PartMax, len(wraps))]
		raw, err := json.Marshal(part)
		require.NoError(t, err)
		parsed, err := e2eeformat.ParsePart(raw)
		require.NoError(t, err)
		h.PartHashes = append(h.PartHashes, e2eeformat.PartHash(len(rec.Parts), parsed))
		rec.Parts = append(rec.Parts, raw)
	}
	h.Signature = u.rawSign(t, h.SignedData())
	rec.Header = h.HeaderJSON()
	return rec
}

func (u *testUser) v3Message(t testing.TB, ctx messageContext, epoch uint64, commitment []byte) map[string]any {
	m := &e2eeformat.MessageV3{CreatedAt: 1764160000000, Epoch: epoch, IV: randBytes(12), CT: randBytes(40)}
	return toProp(t, map[string]any{"version": 3, "createdAt": m.CreatedAt, "epoch": m.Epoch, "iv": b64(m.IV),
		"encryptedData": b64(m.CT), "signature": b64(u.rawSign(t, m.SignedData(ctx, commitment)))})
}

// channelKeySetup: chanID in channel-key mode; alice, bob and carol members with keys.
func channelKeySetup(t *testing.T) (*Plugin, *fakeAPI, map[string]*testUser) {
	p, api := newTestPlugin()
	users := map[string]*testUser{}
	for id, name := range map[string]string{aliceID: "alice", bobID: "bob", carolID: "carol"} {
		api.addUser(id, name, false)
		users[id] = newTestUser(t)
		api.kv[kvPubkeyPrefix+id] = users[id].pub.Marshal()
	}
	api.addChannel(chanID, model.ChannelTypeOpen, aliceID, bobID, carolID)
	api.kv[kvChanMethodPrefix+chanID] = []byte("2")
	return p, api, users
}

func members(users map[string]*testUser, ids ...string) []member {
	var out []member
	for _, id := range ids {
		out = append(out, member{id, users[id]})
	}
	return out
}

func uploadAndCommit(t *testing.T, p *Plugin, userID string, rec testRecord) (int, map[string]any) {
	for i, part := range rec.Parts {
		code, body := call(p, userID, "POST", fmt.Sprintf("/api/v1/channel/epoch/part?chanID=%s&epoch=%d&tag=%s&part=%d", chanID, rec.Epoch, partTag(rec.Commitment), i), string(part))
		if code != http.StatusOK {
			return code, body
		}
	}
	return call(p, userID, "POST", "/api/v1/channel/epoch?chanID="+chanID, string(rec.Header))
}

func v3Post(userID string, e2ee map[string]any) *model.Post {
	post := &model.Post{UserId: userID, ChannelId: chanID, Type: encryptedPostType, Message: encryptedPlaceholder}
	post.AddProp("e2ee", e2ee)
	return post
}

func TestChannelKeyEpochsPostsAndRemoval(t *testing.T) {
	p, api, users := channelKeySetup(t)
	alice := users[aliceID]
	ctx := messageContext{ChannelID: chanID, UserID: aliceID}

	// No epoch yet: a v3 post is refused.
	_, reason := p.MessageWillBePosted(nil, v3Post(aliceID, alice.v3Message(t, ctx, 1, randBytes(32))))
	assert.Contains(t, reason, "no channel key yet")

	rec1 := alice.epochRecord(t, chanID, aliceID, 1, members(users, aliceID, bobID, carolID))
	code, body := uploadAndCommit(t, p, aliceID, rec1)
	require.Equal(t, http.StatusOK, code, body)
	assert.EqualValues(t, 1, body["epoch"])

	_, reason = p.MessageWillBePosted(nil, v3Post(aliceID, alice.v3Message(t, ctx, 1, rec1.Commitment)))
	assert.Empty(t, reason)
	// Wrong commitment (another record of epoch 1), wrong epoch, another author's key, another thread.
	for name, post := range map[string]*model.Post{
		"commitment": v3Post(aliceID, alice.v3Message(t, ctx, 1, randBytes(32))),
		"epoch":      v3Post(aliceID, alice.v3Message(t, ctx, 2, rec1.Commitment)),
		"author":     v3Post(aliceID, users[bobID].v3Message(t, ctx, 1, rec1.Commitment)),
		"root":       v3Post(aliceID, alice.v3Message(t, messageContext{ChannelID: chanID, RootID: "rootrootrootrootrootrootro", UserID: aliceID}, 1, rec1.Commitment)),
	} {
		_, reason := p.MessageWillBePosted(nil, post)
		assert.NotEmpty(t, reason, name)
	}

	// carol is removed: the head is stale and epoch 1 is refused from now on.
	api.removeMember(p, chanID, carolID)
	_, reason = p.MessageWillBePosted(nil, v3Post(aliceID, alice.v3Message(t, ctx, 1, rec1.Commitment)))
	assert.Contains(t, reason, "stale (member_left)")

	// A record still wrapping for carol, or leaving out bob, or skipping an epoch, is refused.
	withCarol := alice.epochRecord(t, chanID, aliceID, 2, members(users, aliceID, bobID, carolID))
	code, body = uploadAndCommit(t, p, aliceID, withCarol)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body["error"], "not a member")
	withoutBob := alice.epochRecord(t, chanID, aliceID, 2, members(users, aliceID))
	code, body = uploadAndCommit(t, p, aliceID, withoutBob)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body["error"], "leaves out")
	skip := alice.epochRecord(t, chanID, aliceID, 3, members(users, aliceID, bobID))
	code, _ = uploadAndCommit(t, p, aliceID, skip)
	assert.Equal(t, http.StatusConflict, code)
	// bob's old key in the record
	oldBob := newTestUser(t)
	stale := alice.epochRecord(t, chanID, aliceID, 2, []member{{aliceID, alice}, {bobID, oldBob}})
	code, body = uploadAndCommit(t, p, aliceID, stale)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body["error"], "not their registered key")

	rec2 := alice.epochRecord(t, chanID, aliceID, 2, members(users, aliceID, bobID))
	code, body = uploadAndCommit(t, p, aliceID, rec2)
	require.Equal(t, http.StatusOK, code, body)
	_, reason = p.MessageWillBePosted(nil, v3Post(aliceID, alice.v3Message(t, ctx, 2, rec2.Commitment)))
	assert.Empty(t, reason)
	// No grace for epoch 1: it was stale because carol left.
	_, reason = p.MessageWillBePosted(nil, v3Post(aliceID, alice.v3Message(t, ctx, 1, rec1.Commitment)))
	assert.Contains(t, reason, "uses epoch 1")
	// v3 in a P2P channel is refused.
	api.kv[kvChanMethodPrefix+chanID] = []byte("1")
	_, reason = p.MessageWillBePosted(nil, v3Post(aliceID, alice.v3Message(t, ctx, 2, rec2.Commitment)))
	assert.Contains(t, reason, "only accepted in channel-key mode")
}

func TestChannelKeyGraceCountAndKeyChange(t *testing.T) {
	p, api, users := channelKeySetup(t)
	alice := users[aliceID]
	ctx := messageContext{ChannelID: chanID, UserID: aliceID}
	p.setConfiguration(&configuration{ChannelKeyRotationMessages: 2})
	rec1 := alice.epochRecord(t, chanID, aliceID, 1, members(users, aliceID, bobID, carolID))
	code, _ := uploadAndCommit(t, p, aliceID, rec1)
	require.Equal(t, http.StatusOK, code)
	for range 2 {
		post := v3Post(aliceID, alice.v3Message(t, ctx, 1, rec1.Commitment))
		_, reason := p.MessageWillBePosted(nil, post)
		require.Empty(t, reason)
		p.MessageHasBeenPosted(nil, post)
	}
	_, reason := p.MessageWillBePosted(nil, v3Post(aliceID, alice.v3Message(t, ctx, 1, rec1.Commitment)))
	assert.Contains(t, reason, "message_limit")

	// bob rotates: epoch 1 (not marked stale by a member or key change) passes for 60 s more.
	rec2 := users[bobID].epochRecord(t, chanID, bobID, 2, members(users, aliceID, bobID, carolID))
	code, body := uploadAndCommit(t, p, bobID, rec2)
	require.Equal(t, http.StatusOK, code, body)
	head, _, err := p.store().getHead(chanID)
	require.NoError(t, err)
	assert.Greater(t, head.PrevUntil, model.GetMillis())
	_, reason = p.MessageWillBePosted(nil, v3Post(aliceID, alice.v3Message(t, ctx, 1, rec1.Commitment)))
	assert.Empty(t, reason, "a post in flight under the previous epoch passes within the grace window")
	head.PrevUntil = model.GetMillis() - 1
	api.kv[kvEpochHead+chanID], _ = json.Marshal(head)
	_, reason = p.MessageWillBePosted(nil, v3Post(aliceID, alice.v3Message(t, ctx, 1, rec1.Commitment)))
	assert.Contains(t, reason, "uses epoch 1")

	// carol replaces her key: every channel-key channel of hers goes stale.
	code, _ = call(p, carolID, "POST", "/api/v1/pubkey/push", signedPush(t, p, carolID, newTestUser(t), nil))
	require.Equal(t, http.StatusOK, code)
	_, reason = p.MessageWillBePosted(nil, v3Post(aliceID, alice.v3Message(t, ctx, 2, rec2.Commitment)))
	assert.Contains(t, reason, "key_changed")
}

func TestChannelKeyConcurrentRotationsOneWinner(t *testing.T) {
	p, api, users := channelKeySetup(t)
	recs := []testRecord{
		users[aliceID].epochRecord(t, chanID, aliceID, 1, members(users, aliceID, bobID, carolID)),
		users[bobID].epochRecord(t, chanID, bobID, 1, members(users, aliceID, bobID, carolID)),
	}
	codes := make([]int, 2)
	var wg sync.WaitGroup
	for i, who := range []string{aliceID, bobID} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = uploadAndCommit(t, p, who, recs[i])
		}()
	}
	wg.Wait()
	assert.ElementsMatch(t, []int{http.StatusOK, http.StatusConflict}, codes)
	head, _, err := p.store().getHead(chanID)
	require.NoError(t, err)
	assert.EqualValues(t, 1, head.Epoch)
	winner := 0
	if codes[1] == http.StatusOK {
		winner = 1
	}
	assert.Equal(t, b64(recs[winner].Commitment), head.Commitment)
	assert.Equal(t, string(recs[winner].Header), string(api.kv[epochKey(kvEpochRecord, chanID, 1)]))
}

func TestChannelKeyReadStatusAndJoiners(t *testing.T) {
	p, api, users := channelKeySetup(t)
	alice := users[aliceID]
	rec := alice.epochRecord(t, chanID, aliceID, 1, members(users, aliceID, bobID, carolID))
	code, _ := uploadAndCommit(t, p, aliceID, rec)
	require.Equal(t, http.StatusOK, code)

	code, body := call(p, bobID, "GET", "/api/v1/channel/epoch?chanID="+chanID+"&epoch=1", "")
	require.Equal(t, http.StatusOK, code, body)
	assert.EqualValues(t, 0, body["part"])
	assert.NotNil(t, body["wraps"])

	// dave joins with a key: not stale, but missing a copy until a member adds a joiner wrap.
	daveID := "davedavedavedavedavedavedx"
	dave := newTestUser(t)
	api.addUser(daveID, "dave", false)
	api.kv[kvPubkeyPrefix+daveID] = dave.pub.Marshal()
	api.members[chanID] = append(api.members[chanID], daveID)
	code, body = call(p, aliceID, "GET", "/api/v1/channel/epoch/status?chanID="+chanID, "")
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, "", body["stale"])
	assert.Equal(t, []any{daveID}, body["missing"])
	code, body = call(p, daveID, "GET", "/api/v1/channel/epoch?chanID="+chanID+"&epoch=1", "")
	require.Equal(t, http.StatusOK, code)
	assert.EqualValues(t, -1, body["part"])
	assert.Nil(t, body["joiner"])

	set := users[bobID].joinerSet(t, chanID, bobID, 1, rec.Commitment, []member{{daveID, dave}})
	// signed by bob but sent by alice; for a non-member; over another record: refused
	code, _ = call(p, aliceID, "POST", "/api/v1/channel/epoch/joiners?chanID="+chanID, string(set))
	assert.Equal(t, http.StatusBadRequest, code)
	code, _ = call(p, bobID, "POST", "/api/v1/channel/epoch/joiners?chanID="+chanID,
		string(users[bobID].joinerSet(t, chanID, bobID, 1, randBytes(32), []member{{daveID, dave}})))
	assert.Equal(t, http.StatusBadRequest, code)
	code, _ = call(p, bobID, "POST", "/api/v1/channel/epoch/joiners?chanID="+chanID,
		string(users[bobID].joinerSet(t, chanID, bobID, 1, rec.Commitment, []member{{"strangerstrangerstrangerst", newTestUser(t)}})))
	assert.Equal(t, http.StatusBadRequest, code)
	code, body = call(p, bobID, "POST", "/api/v1/channel/epoch/joiners?chanID="+chanID, string(set))
	require.Equal(t, http.StatusOK, code, body)
	code, _ = call(p, bobID, "POST", "/api/v1/channel/epoch/joiners?chanID="+chanID, string(set))
	assert.Equal(t, http.StatusConflict, code, "dave already has a copy")

	code, body = call(p, daveID, "GET", "/api/v1/channel/epoch?chanID="+chanID+"&epoch=1", "")
	require.Equal(t, http.StatusOK, code)
	assert.NotNil(t, body["joiner"])
	code, body = call(p, aliceID, "GET", "/api/v1/channel/epoch/status?chanID="+chanID, "")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, []any{}, body["missing"])

	// Non-members read nothing.
	code, _ = call(p, "strangerstrangerstrangerst", "GET", "/api/v1/channel/epoch?chanID="+chanID+"&epoch=1", "")
	assert.Equal(t, http.StatusForbidden, code)
}

func (u *testUser) joinerSet(t testing.TB, channelID, adderID string, epoch uint64, commitment []byte, joiners []member) []byte {
	s := &e2eeformat.JoinerSet{ChannelID: channelID, Epoch: epoch, AdderID: adderID, CreatedAt: 5, PubECDHE: ephemeralPoint(t)}
	var wraps [][]string
	for _, m := range joiners {
		s.Wraps = append(s.Wraps, e2eeformat.Wrap{UserID: m.id, KeyID: mustB64(t, m.user.keyIDB64(t)), Wrapped: randBytes(40)})
	}
	for _, w := range s.Wraps {
		wraps = append(wraps, []string{w.UserID, b64(w.KeyID), b64(w.Wrapped)})
	}
	s.Signature = u.rawSign(t, s.SignedData(commitment))
	out, err := json.Marshal(map[string]any{"version": 3, "channelId": channelID, "epoch": epoch, "adderId": adderID, "createdAt": 5,
		"pubECDHE": b64(s.PubECDHE), "wraps": wraps, "signature": b64(s.Signature)})
	require.NoError(t, err)
	return out
}

func mustB64(t testing.TB, s string) []byte {
	b, err := e2eeformat.Base64Exact("test", s, -1)
	require.NoError(t, err)
	return b
}

func TestChannelKeyBadInput(t *testing.T) {
	p, api, users := channelKeySetup(t)
	alice := users[aliceID]
	rec := alice.epochRecord(t, chanID, aliceID, 1, members(users, aliceID, bobID, carolID))
	before := snapshot(api)
	for name, tc := range map[string]struct{ user, method, path, body string }{
		"bad header":    {aliceID, "POST", "/api/v1/channel/epoch?chanID=" + chanID, `{"version":3}`},
		"not JSON":      {aliceID, "POST", "/api/v1/channel/epoch?chanID=" + chanID, `{`},
		"parts missing": {aliceID, "POST", "/api/v1/channel/epoch?chanID=" + chanID, string(rec.Header)},
		"other creator": {bobID, "POST", "/api/v1/channel/epoch?chanID=" + chanID, string(rec.Header)},
		"bad part":      {aliceID, "POST", "/api/v1/channel/epoch/part?chanID=" + chanID + "&epoch=1&tag=0011223344556677&part=0", `[["x"]]`},
		"bad tag":       {aliceID, "POST", "/api/v1/channel/epoch/part?chanID=" + chanID + "&epoch=1&tag=ZZ&part=0", string(rec.Parts[0])},
		"bad index":     {aliceID, "POST", "/api/v1/channel/epoch/part?chanID=" + chanID + "&epoch=1&tag=0011223344556677&part=100", string(rec.Parts[0])},
		"bad epoch":     {aliceID, "GET", "/api/v1/channel/epoch?chanID=" + chanID + "&epoch=0", ""},
		"big body":      {aliceID, "POST", "/api/v1/channel/epoch?chanID=" + chanID, strings.Repeat(" ", maxBodyBytes+1)},
		"no epoch":      {aliceID, "GET", "/api/v1/channel/epoch?chanID=" + chanID + "&epoch=1", ""},
		"history perm":  {bobID, "POST", "/api/v1/channel/history_sharing?chanID=" + chanID + "&on=true", ""},
	} {
		code, body := call(p, tc.user, tc.method, tc.path, tc.body)
		assert.GreaterOrEqual(t, code, 400, name)
		assert.NotEmpty(t, body["error"], name)
	}
	assert.Equal(t, before, snapshot(api), "refused requests change nothing")
	// A forged signature (bob's key, alice's name) is refused.
	forged := users[bobID].epochRecord(t, chanID, aliceID, 1, members(users, aliceID, bobID, carolID))
	code, body := uploadAndCommit(t, p, aliceID, forged)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body["error"], "signature")
	// Not in channel-key mode.
	api.kv[kvChanMethodPrefix+chanID] = []byte("1")
	code, _ = uploadAndCommit(t, p, aliceID, rec)
	assert.Equal(t, http.StatusBadRequest, code)
}

func TestStartModeByThresholdAndFlag(t *testing.T) {
	p, api, _ := channelKeySetup(t)
	api.kv[kvChanMethodPrefix+chanID] = []byte("0")
	api.admins[aliceID] = true
	run := func(cmd string) string {
		res, _ := p.ExecuteCommand(nil, &model.CommandArgs{Command: cmd, UserId: aliceID, ChannelId: chanID})
		return res.Text
	}
	assert.Contains(t, run("/e2ee start"), "P2P mode")
	assert.Equal(t, "1", string(api.kv[kvChanMethodPrefix+chanID]))
	p.setConfiguration(&configuration{ChannelKeyThreshold: 3})
	run("/e2ee stop")
	assert.Contains(t, run("/e2ee start"), "channel-key mode")
	assert.Equal(t, "2", string(api.kv[kvChanMethodPrefix+chanID]))
	assert.Contains(t, run("/e2ee status"), "channel-key mode")
	assert.Contains(t, run("/e2ee start --mode p2p"), "P2P mode")
	assert.Contains(t, run("/e2ee start --mode channel"), "channel-key mode")
	assert.Contains(t, run("/e2ee start --mode x"), "--mode is p2p or channel")
	assert.Equal(t, "2", string(api.kv[kvChanMethodPrefix+chanID]))
}

func TestChannelKeyHistorySharing(t *testing.T) {
	p, api, users := channelKeySetup(t)
	alice := users[aliceID]
	rec1 := alice.epochRecord(t, chanID, aliceID, 1, members(users, aliceID, bobID, carolID))
	code, _ := uploadAndCommit(t, p, aliceID, rec1)
	require.Equal(t, http.StatusOK, code)
	api.removeMember(p, chanID, carolID)
	rec2 := alice.epochRecord(t, chanID, aliceID, 2, members(users, aliceID, bobID))
	code, _ = uploadAndCommit(t, p, aliceID, rec2)
	require.Equal(t, http.StatusOK, code)
	daveID := "davedavedavedavedavedavedx"
	dave := newTestUser(t)
	api.addUser(daveID, "dave", false)
	api.kv[kvPubkeyPrefix+daveID] = dave.pub.Marshal()
	api.members[chanID] = append(api.members[chanID], daveID)

	code, body := call(p, bobID, "GET", "/api/v1/channel/epoch/status?chanID="+chanID+"&epoch=1", "")
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, []any{daveID}, body["missing"], "carol is gone; dave lacks epoch 1")
	assert.Equal(t, false, body["historySharing"])
	past := users[bobID].joinerSet(t, chanID, bobID, 1, rec1.Commitment, []member{{daveID, dave}})
	code, body = call(p, bobID, "POST", "/api/v1/channel/epoch/joiners?chanID="+chanID, string(past))
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body["error"], "history sharing")

	api.admins[aliceID] = true
	res, _ := p.ExecuteCommand(nil, &model.CommandArgs{Command: "/e2ee history on", UserId: aliceID, ChannelId: chanID})
	assert.Contains(t, res.Text, "History sharing is on")
	res, _ = p.ExecuteCommand(nil, &model.CommandArgs{Command: "/e2ee history on", UserId: bobID, ChannelId: chanID})
	assert.Contains(t, res.Text, "permission", "bob cannot manage this channel's properties")
	code, body = call(p, bobID, "POST", "/api/v1/channel/epoch/joiners?chanID="+chanID, string(past))
	require.Equal(t, http.StatusOK, code, body)
	code, body = call(p, daveID, "GET", "/api/v1/channel/epoch?chanID="+chanID+"&epoch=1", "")
	require.Equal(t, http.StatusOK, code)
	assert.NotNil(t, body["joiner"])
	assert.EqualValues(t, 2, body["head"])
	code, _ = call(p, bobID, "GET", "/api/v1/channel/epoch/status?chanID="+chanID+"&epoch=3", "")
	assert.Equal(t, http.StatusNotFound, code)
}

// The sweep keeps channel-key posts that verify against their epoch's record (also an older
// epoch) and removes forged or unknown-epoch ones.
func TestSweepKeepsChannelKeyPosts(t *testing.T) {
	p, api, alice, mark := sweepSetup(t)
	bob, carol := newTestUser(t), newTestUser(t)
	api.kv[kvPubkeyPrefix+bobID] = bob.pub.Marshal()
	api.kv[kvPubkeyPrefix+carolID] = carol.pub.Marshal()
	api.kv[kvChanMethodPrefix+chanID] = []byte("2")
	users := map[string]*testUser{aliceID: alice, bobID: bob, carolID: carol}
	rec1 := alice.epochRecord(t, chanID, aliceID, 1, members(users, aliceID, bobID, carolID))
	code, _ := uploadAndCommit(t, p, aliceID, rec1)
	require.Equal(t, http.StatusOK, code)
	rec2 := alice.epochRecord(t, chanID, aliceID, 2, members(users, aliceID, bobID, carolID))
	code, _ = uploadAndCommit(t, p, aliceID, rec2)
	require.Equal(t, http.StatusOK, code)
	ctx := messageContext{ChannelID: chanID, UserID: aliceID}
	enc := func(e2ee map[string]any) func(*model.Post) {
		return func(post *model.Post) {
			post.Type, post.Message = encryptedPostType, encryptedPlaceholder
			post.AddProp("e2ee", e2ee)
		}
	}
	stored(api, "v3epochoneaaaaaaaaaaaaaaaa", aliceID, mark+100, enc(alice.v3Message(t, ctx, 1, rec1.Commitment)))
	stored(api, "v3epochtwoaaaaaaaaaaaaaaaa", aliceID, mark+100, enc(alice.v3Message(t, ctx, 2, rec2.Commitment)))
	stored(api, "v3forgedaaaaaaaaaaaaaaaaaa", aliceID, mark+100, enc(alice.v3Message(t, ctx, 2, randBytes(32))))
	stored(api, "v3unknownepochaaaaaaaaaaaa", aliceID, mark+100, enc(alice.v3Message(t, ctx, 9, rec2.Commitment)))
	p.sweepAll(context.Background(), "test", model.GetMillis())
	assert.ElementsMatch(t, []string{"v3forgedaaaaaaaaaaaaaaaaaa", "v3unknownepochaaaaaaaaaaaa"}, deletedIDs(api))
}

// An edit of a v3 post passes under the same rules as a new v3 post: the head's epoch while it is
// not stale, or the previous one within its grace window; a v2 edit of it stays accepted too.
func TestChannelKeyEditUnderPostRules(t *testing.T) {
	p, api, users := channelKeySetup(t)
	alice := users[aliceID]
	ctx := messageContext{ChannelID: chanID, UserID: aliceID}
	rec1 := alice.epochRecord(t, chanID, aliceID, 1, members(users, aliceID, bobID, carolID))
	code, body := uploadAndCommit(t, p, aliceID, rec1)
	require.Equal(t, http.StatusOK, code, body)
	old := v3Post(aliceID, alice.v3Message(t, ctx, 1, rec1.Commitment))
	old.Id = model.NewId()
	edit := func(e2ee map[string]any) (*model.Post, string) {
		newPost := old.Clone()
		newPost.AddProp("e2ee", e2ee)
		return p.MessageWillBeUpdated(nil, newPost, old)
	}

	out, reason := edit(alice.v3Message(t, ctx, 1, rec1.Commitment))
	assert.Empty(t, reason)
	require.NotNil(t, out)
	assert.NotZero(t, out.EditAt, "a new ciphertext is an edit")
	out, reason = edit(alice.v3Message(t, ctx, 1, randBytes(32)))
	assert.Nil(t, out)
	assert.Contains(t, reason, "signature")
	_, reason = edit(alice.v3Message(t, ctx, 2, rec1.Commitment))
	assert.Contains(t, reason, "uses epoch 2")

	// bob rotates for age/count: epoch 1 edits pass within the grace window only.
	rec2 := users[bobID].epochRecord(t, chanID, bobID, 2, members(users, aliceID, bobID, carolID))
	code, body = uploadAndCommit(t, p, bobID, rec2)
	require.Equal(t, http.StatusOK, code, body)
	_, reason = edit(alice.v3Message(t, ctx, 1, rec1.Commitment))
	assert.Empty(t, reason)
	head, _, err := p.store().getHead(chanID)
	require.NoError(t, err)
	head.PrevUntil = model.GetMillis() - 1
	api.kv[kvEpochHead+chanID], _ = json.Marshal(head)
	_, reason = edit(alice.v3Message(t, ctx, 1, rec1.Commitment))
	assert.Contains(t, reason, "uses epoch 1")
	_, reason = edit(alice.v3Message(t, ctx, 2, rec2.Commitment))
	assert.Empty(t, reason)

	// A stale head refuses edits under it, as it refuses posts.
	api.removeMember(p, chanID, carolID)
	_, reason = edit(alice.v3Message(t, ctx, 2, rec2.Commitment))
	assert.Contains(t, reason, "stale (member_left)")
}

// The web app writes an edit in the channel's current format (design §13.6): an older v1 or v2
// post of a channel now in channel-key mode is edited as v3 under the head's epoch, and a v3 post of
// a channel switched back to P2P as v2. The server accepts exactly that: a v3 edit of an older post
// under the post rules, no v3 edit outside channel-key mode, and P2P edits in either mode.
func TestEditOfOlderPostFollowsChannelMode(t *testing.T) {
	p, api, users := channelKeySetup(t)
	alice := users[aliceID]
	ctx := messageContext{ChannelID: chanID, UserID: aliceID}
	rec1 := alice.epochRecord(t, chanID, aliceID, 1, members(users, aliceID, bobID, carolID))
	code, body := uploadAndCommit(t, p, aliceID, rec1)
	require.Equal(t, http.StatusOK, code, body)
	for name, e2ee := range map[string]map[string]any{"v1": alice.v1Message(t, 3), "v2": alice.v2Message(t, ctx, 3)} {
		old := v3Post(aliceID, e2ee)
		old.Id = model.NewId()
		edit := func(e2ee map[string]any) (*model.Post, string) {
			newPost := old.Clone()
			newPost.AddProp("e2ee", e2ee)
			return p.MessageWillBeUpdated(nil, newPost, old)
		}
		out, reason := edit(alice.v3Message(t, ctx, 1, rec1.Commitment))
		assert.Empty(t, reason, name)
		require.NotNil(t, out, name)
		assert.NotZero(t, out.EditAt, name)
		_, reason = edit(alice.v3Message(t, ctx, 1, randBytes(32)))
		assert.Contains(t, reason, "signature", name)
		out, reason = edit(alice.v2Message(t, ctx, 3))
		assert.Empty(t, reason, "%s: P2P edits stay accepted in channel-key mode (edits in flight)", name)
		assert.NotNil(t, out, name)
	}

	// Back to P2P: a v3 post's edit is v2; a v3 edit is refused.
	api.kv[kvChanMethodPrefix+chanID] = []byte("1")
	old := v3Post(aliceID, alice.v3Message(t, ctx, 1, rec1.Commitment))
	old.Id = model.NewId()
	newPost := old.Clone()
	newPost.AddProp("e2ee", alice.v3Message(t, ctx, 1, rec1.Commitment))
	out, reason := p.MessageWillBeUpdated(nil, newPost, old)
	assert.Nil(t, out)
	assert.Contains(t, reason, "only accepted in channel-key mode")
	newPost = old.Clone()
	newPost.AddProp("e2ee", alice.v2Message(t, ctx, 3))
	out, reason = p.MessageWillBeUpdated(nil, newPost, old)
	assert.Empty(t, reason)
	assert.NotNil(t, out)
}

// method=auto (the header button) turns encryption on in the mode /e2ee start chooses, and keeps
// an encrypted channel's mode; non-members learn nothing.
func TestSetMethodAutoChoosesByThreshold(t *testing.T) {
	p, api, _ := channelKeySetup(t)
	api.kv[kvChanMethodPrefix+chanID] = []byte("0")
	api.admins[aliceID] = true
	q := "/api/v1/channel/encryption_method?chanID=" + chanID
	outsider := "outsideroutsideroutsiderou"
	api.addUser(outsider, "mallory", false)
	code, _ := call(p, outsider, "POST", q+"&method=auto", "")
	assert.Equal(t, http.StatusForbidden, code)
	assert.Equal(t, "0", string(api.kv[kvChanMethodPrefix+chanID]))

	code, body := call(p, aliceID, "POST", q+"&method=auto", "")
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, "p2p", body["method"], "3 members is below the default threshold")
	assert.Equal(t, "1", string(api.kv[kvChanMethodPrefix+chanID]))

	p.setConfiguration(&configuration{ChannelKeyThreshold: 3})
	code, body = call(p, aliceID, "POST", q+"&method=auto", "")
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, "p2p", body["method"], "an encrypted channel keeps its mode")
	code, _ = call(p, aliceID, "POST", q+"&method=none", "")
	require.Equal(t, http.StatusOK, code)
	code, body = call(p, aliceID, "POST", q+"&method=auto", "")
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, "channel", body["method"])
	assert.Equal(t, "2", string(api.kv[kvChanMethodPrefix+chanID]))

	code, body = call(p, aliceID, "POST", q+"&method=aes", "")
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body["error"], `"auto"`)
}

// A server that dies between storing a record and moving the head leaves the record of epoch n
// with the head at n-1 (make faults found it): every later commit was refused, for good. The
// same record sent again now finishes the commit; a different one is still refused.
func TestChannelKeyCommitInterruptedBeforeTheHead(t *testing.T) {
	// The server stored epoch 2's record and its parts, then died before moving the head.
	interrupted := func(t *testing.T) (*Plugin, *fakeAPI, map[string]*testUser, []member, testRecord) {
		p, api, users := channelKeySetup(t)
		all := members(users, aliceID, bobID, carolID)
		code, body := uploadAndCommit(t, p, aliceID, users[aliceID].epochRecord(t, chanID, aliceID, 1, all))
		require.Equal(t, http.StatusOK, code, "%v", body)
		headAt1 := append([]byte(nil), api.kv[kvEpochHead+chanID]...)
		rec2 := users[aliceID].epochRecord(t, chanID, aliceID, 2, all)
		code, body = uploadAndCommit(t, p, aliceID, rec2)
		require.Equal(t, http.StatusOK, code, "%v", body)
		api.kv[kvEpochHead+chanID] = headAt1 // the head's write never happened
		return p, api, users, all, rec2
	}
	headIs := func(t *testing.T, p *Plugin, epoch uint64, commitment []byte) {
		head, _, err := p.store().getHead(chanID)
		require.NoError(t, err)
		assert.EqualValues(t, epoch, head.Epoch)
		assert.Equal(t, b64(commitment), head.Commitment)
		assert.EqualValues(t, epoch-1, head.PrevEpoch)
	}

	t.Run("the same record again finishes the commit", func(t *testing.T) {
		p, _, users, all, rec2 := interrupted(t)
		code, body := uploadAndCommit(t, p, aliceID, rec2)
		require.Equal(t, http.StatusOK, code, "%v", body)
		headIs(t, p, 2, rec2.Commitment)
		code, body = uploadAndCommit(t, p, bobID, users[bobID].epochRecord(t, chanID, bobID, 3, all))
		assert.Equal(t, http.StatusOK, code, "the channel moves on: %v", body)
	})

	t.Run("another member's record finishes it for its creator", func(t *testing.T) {
		p, _, users, all, rec2 := interrupted(t)
		code, _ := uploadAndCommit(t, p, bobID, users[bobID].epochRecord(t, chanID, bobID, 2, all))
		assert.Equal(t, http.StatusConflict, code, "epoch 2 is alice's: bob adopts it")
		headIs(t, p, 2, rec2.Commitment)
		code, body := uploadAndCommit(t, p, bobID, users[bobID].epochRecord(t, chanID, bobID, 3, all))
		assert.Equal(t, http.StatusOK, code, "the channel moves on without alice: %v", body)
	})

	t.Run("a record whose parts expired is replaced", func(t *testing.T) {
		p, api, users, all, rec2 := interrupted(t)
		for i := range rec2.Parts {
			delete(api.kv, epochKey(kvEpochPart, chanID, 2, partTag(rec2.Commitment), strconv.Itoa(i)))
		}
		bobs := users[bobID].epochRecord(t, chanID, bobID, 2, all)
		code, body := uploadAndCommit(t, p, bobID, bobs)
		require.Equal(t, http.StatusOK, code, "%v", body)
		headIs(t, p, 2, bobs.Commitment)
		code, _ = uploadAndCommit(t, p, aliceID, rec2)
		assert.Equal(t, http.StatusConflict, code, "the abandoned record cannot come back")
	})
}
