package main

import (
	"bytes"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	chanID  = "chan1chan1chan1chan1chan1c"
	aliceID = "aliceidaliceidaliceidalice"
	bobID   = "bobidbobidbobidbobidbobidb"
	carolID = "carolidcarolidcarolidcarol"
	otherID = "otherchannelotherchannelot"
)

// encryptedSetup: alice has a key; chanID is encrypted with alice, bob and carol as members.
func encryptedSetup(t *testing.T) (*Plugin, *fakeAPI, *testUser) {
	p, api := newTestPlugin()
	alice := newTestUser(t)
	api.addUser(aliceID, "alice", false)
	api.addUser(bobID, "bob", false)
	api.addUser(carolID, "carol", false)
	api.addChannel(chanID, model.ChannelTypeOpen, aliceID, bobID, carolID)
	api.kv[kvPubkeyPrefix+aliceID] = alice.pub.Marshal()
	api.kv[kvChanMethodPrefix+chanID] = []byte("1")
	return p, api, alice
}

func encryptedPost(e2ee map[string]any) *model.Post {
	post := &model.Post{UserId: aliceID, ChannelId: chanID, Type: encryptedPostType, Message: encryptedPlaceholder}
	post.AddProp("e2ee", e2ee)
	return post
}

func TestMessageWillBePostedAcceptsValidEncrypted(t *testing.T) {
	p, api, alice := encryptedSetup(t)
	ctx := messageContext{ChannelID: chanID, UserID: aliceID}
	for _, post := range []*model.Post{
		encryptedPost(alice.v1Message(t, 3)),
		encryptedPost(alice.v2Message(t, ctx, 3)),
	} {
		out, reason := p.MessageWillBePosted(nil, post)
		assert.Empty(t, reason)
		assert.Nil(t, out)
	}
	v := loadVectors(t)
	api.kv[kvPubkeyPrefix+aliceID] = v.key(t, "alice").Marshal()
	_, reason := p.MessageWillBePosted(nil, encryptedPost(v.Messages[0].E2EE))
	assert.Empty(t, reason, "the original plugin's v1 message must be accepted")
	assert.Empty(t, api.ephemeral)
}

func TestMessageWillBePostedRefuses(t *testing.T) {
	p, api, alice := encryptedSetup(t)
	bob := newTestUser(t)
	api.kv[kvPubkeyPrefix+bobID] = bob.pub.Marshal()
	ctx := messageContext{ChannelID: chanID, UserID: aliceID}
	cases := map[string]func() *model.Post{
		"plaintext": func() *model.Post {
			return &model.Post{UserId: aliceID, ChannelId: chanID, Message: "secret plans"}
		},
		"plaintext in message": func() *model.Post {
			post := encryptedPost(alice.v1Message(t, 2))
			post.Message = "secret plans"
			return post
		},
		"no e2ee prop": func() *model.Post {
			post := encryptedPost(nil)
			post.DelProp("e2ee")
			return post
		},
		"malformed e2ee": func() *model.Post { return encryptedPost(map[string]any{"version": 1, "iv": "x"}) },
		"e2ee not an object": func() *model.Post {
			post := encryptedPost(nil)
			post.AddProp("e2ee", "hello")
			return post
		},
		"forged signature (bob's key signs as alice)": func() *model.Post { return encryptedPost(bob.v1Message(t, 2)) },
		"v2 replayed into another channel": func() *model.Post {
			return encryptedPost(alice.v2Message(t, messageContext{ChannelID: otherID, UserID: aliceID}, 2))
		},
		"v2 moved into a thread": func() *model.Post {
			post := encryptedPost(alice.v2Message(t, ctx, 2))
			post.RootId = otherID
			return post
		},
		"extra prop that could hold plaintext": func() *model.Post {
			post := encryptedPost(alice.v1Message(t, 2))
			post.AddProp("attachments", []any{map[string]any{"text": "secret"}})
			return post
		},
		"harmless prop name with a text value": func() *model.Post {
			post := encryptedPost(alice.v1Message(t, 2))
			post.AddProp("disable_group_highlight", "secret")
			return post
		},
		"file attached": func() *model.Post {
			post := encryptedPost(alice.v1Message(t, 2))
			post.FileIds = model.StringArray{"fileidfileidfileidfileidfi"}
			return post
		},
		"author without key": func() *model.Post {
			post := encryptedPost(alice.v1Message(t, 2))
			post.UserId = carolID
			return post
		},
		"webhook-style post by a user": func() *model.Post {
			post := &model.Post{UserId: aliceID, ChannelId: chanID, Message: "x", Type: "custom_poll"}
			return post
		},
	}
	for name, mk := range cases {
		api.ephemeral, api.ephemeralTo = nil, nil
		post := mk()
		out, reason := p.MessageWillBePosted(nil, post)
		assert.Nil(t, out, name)
		assert.Contains(t, reason, "end-to-end encrypted", name)
		if assert.Len(t, api.ephemeral, 1, name) {
			assert.Equal(t, post.UserId, api.ephemeralTo[0], name)
			assert.Equal(t, p.botUserID, api.ephemeral[0].UserId, name)
			assert.Equal(t, chanID, api.ephemeral[0].ChannelId, name)
		}
	}
}

func TestMessageWillBePostedPasses(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	api.addUser("someboteeeeeeeeeeeeeeeeeee", "somebot", true)
	p.setConfiguration(&configuration{BotCanAlwaysPost: true, AlwaysAllowMsgTypes: "custom_poll"})

	pass := []*model.Post{
		{UserId: aliceID, ChannelId: chanID, Type: model.PostTypeJoinChannel, Message: "alice joined"},
		{UserId: aliceID, ChannelId: chanID, Type: "custom_poll", Message: "poll"},
		{UserId: "someboteeeeeeeeeeeeeeeeeee", ChannelId: chanID, Message: "bot text"},
		{UserId: p.botUserID, ChannelId: chanID, Message: "announcement"},
		{UserId: aliceID, ChannelId: "plainchannelplainchannelpl", Message: "plaintext elsewhere"},
	}
	for _, post := range pass {
		_, reason := p.MessageWillBePosted(nil, post)
		assert.Empty(t, reason, "%+v", post)
	}

	p.setConfiguration(&configuration{BotCanAlwaysPost: false})
	_, reason := p.MessageWillBePosted(nil, &model.Post{UserId: "someboteeeeeeeeeeeeeeeeeee", ChannelId: chanID, Message: "bot text"})
	assert.NotEmpty(t, reason, "bots are refused when BotCanAlwaysPost is off")
	_, reason = p.MessageWillBePosted(nil, &model.Post{UserId: p.botUserID, ChannelId: chanID, Message: "announcement"})
	assert.Empty(t, reason, "our own bot always announces")
}

func TestMessageWillBePostedFailsClosedOnKVError(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	api.kvFail = true
	_, reason := p.MessageWillBePosted(nil, &model.Post{UserId: aliceID, ChannelId: "plainchannelplainchannelpl", Message: "hi"})
	// The reason says the check failed, not that the post was plaintext (the channel may be plain).
	assert.Contains(t, reason, "the server could not check it")
	assert.NotContains(t, reason, "not encrypted")
	_, reason = p.MessageWillBePosted(nil, &model.Post{UserId: p.botUserID, ChannelId: chanID, Message: "announcement"})
	assert.Empty(t, reason, "our bot's announcements pass in any channel")
}

func TestMessageWillBeUpdated(t *testing.T) {
	p, api, alice := encryptedSetup(t)
	old := encryptedPost(alice.v1Message(t, 2))

	// An encrypted edit with a fresh signature is fine; the hook allows by returning the post.
	edit := encryptedPost(alice.v1Message(t, 2))
	out, reason := p.MessageWillBeUpdated(nil, edit, old)
	assert.Empty(t, reason)
	assert.Same(t, edit, out)
	assert.NotZero(t, out.EditAt, "a new ciphertext marks the post edited, though the placeholder is unchanged")

	// Edited into plaintext: refused.
	plain := old.Clone()
	plain.Type = ""
	plain.Message = "secret"
	plain.DelProp("e2ee")
	out, reason = p.MessageWillBeUpdated(nil, plain, old)
	assert.NotEmpty(t, reason)
	assert.Nil(t, out)

	// New ciphertext with the old signature: refused.
	forged := encryptedPost(alice.v1Message(t, 2))
	forged.GetProp("e2ee").(map[string]any)["signature"] = old.GetProp("e2ee").(map[string]any)["signature"]
	_, reason = p.MessageWillBeUpdated(nil, forged, old)
	assert.NotEmpty(t, reason)

	// Pinning changes no content.
	pinned := old.Clone()
	pinned.IsPinned = true
	out, reason = p.MessageWillBeUpdated(nil, pinned, old)
	assert.Empty(t, reason)
	assert.Same(t, pinned, out)
	assert.Zero(t, out.EditAt, "pinning is not an edit")

	// An encrypted post stays encrypted even after the channel goes back to plaintext.
	api.kv[kvChanMethodPrefix+chanID] = []byte("0")
	_, reason = p.MessageWillBeUpdated(nil, plain, old)
	assert.NotEmpty(t, reason)

	// Plaintext posts of a plaintext channel are not our business.
	older := &model.Post{UserId: aliceID, ChannelId: chanID, Message: "hello"}
	newer := older.Clone()
	newer.Message = "hello again"
	out, reason = p.MessageWillBeUpdated(nil, newer, older)
	assert.Empty(t, reason)
	assert.Same(t, newer, out)

	// A plaintext post from before encryption was turned on keeps its text but cannot gain new plaintext.
	api.kv[kvChanMethodPrefix+chanID] = []byte("1")
	_, reason = p.MessageWillBeUpdated(nil, newer, older)
	assert.NotEmpty(t, reason)
	unchanged := older.Clone()
	unchanged.IsPinned = true
	_, reason = p.MessageWillBeUpdated(nil, unchanged, older)
	assert.Empty(t, reason)
}

func TestFileWillBeUploaded(t *testing.T) {
	p, _, _ := encryptedSetup(t)
	info := &model.FileInfo{ChannelId: chanID, Name: "a.txt"}
	var out bytes.Buffer
	got, reason := p.FileWillBeUploaded(nil, info, bytes.NewReader([]byte("x")), &out)
	assert.Nil(t, got)
	assert.Contains(t, reason, "end-to-end encrypted")

	_, reason = p.FileWillBeUploaded(nil, &model.FileInfo{ChannelId: otherID}, bytes.NewReader(nil), &out)
	assert.Empty(t, reason)
	require.Zero(t, out.Len())
}
