package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
)

const (
	otherBotID = "pollbotpollbotpollbotpollb"
	secretText = "the launch code is 1234"
)

// stored adds a post to the fake's table as the server stores it.
func stored(api *fakeAPI, id, userID string, createAt int64, mutate func(*model.Post)) *model.Post {
	post := &model.Post{Id: id, UserId: userID, ChannelId: chanID, CreateAt: createAt, UpdateAt: createAt, Message: secretText}
	if mutate != nil {
		mutate(post)
	}
	api.posts = append(api.posts, post)
	return post
}

func deletedIDs(api *fakeAPI) []string {
	var out []string
	for _, p := range api.posts {
		if p.DeleteAt != 0 {
			out = append(out, p.Id)
		}
	}
	return out
}

func dmsTo(api *fakeAPI, p *Plugin, userID string) []string {
	var out []string
	for _, post := range api.posts {
		if post.ChannelId == "dm_"+userID+"_"+p.botUserID {
			out = append(out, post.Message)
		}
	}
	return out
}

func sweepSetup(t *testing.T) (*Plugin, *fakeAPI, *testUser, int64) {
	p, api, alice := encryptedSetup(t)
	api.addUser(otherBotID, "poll", true)
	p.listChangedPosts = api.changedPosts
	p.scrubRemovedPost = api.scrubPost
	mark := model.GetMillis() - time.Hour.Milliseconds()
	p.markChannelEncrypted(chanID, mark)
	api.On("GetConfig").Return(&model.Config{}).Maybe()
	return p, api, alice, mark
}

// TestSweepRemovesWhatTheHooksWouldHaveRefused: what got into an encrypted channel while
// no hook ran is removed; what was allowed, or predates encryption, stays.
func TestSweepRemovesWhatTheHooksWouldHaveRefused(t *testing.T) {
	p, api, alice, mark := sweepSetup(t)
	ctx := messageContext{ChannelID: chanID, UserID: aliceID}
	encrypted := func(e2ee map[string]any) func(*model.Post) {
		return func(post *model.Post) {
			post.Type, post.Message = encryptedPostType, encryptedPlaceholder
			post.AddProp("e2ee", e2ee)
		}
	}
	// Older key of alice's, replaced since: her older posts stay valid through the history.
	oldAlice := newTestUser(t)
	history, _ := json.Marshal([]KeyHistoryEntry{{Pubkey: oldAlice.pub, Since: 0}, {Pubkey: alice.pub, Since: mark - 1000}})
	api.kv[kvHistoryPrefix+aliceID] = history

	keep := []string{}
	drop := []string{}
	// Kept.
	keep = append(keep, stored(api, "prebeforeencryptionpostaaa", bobID, mark-5000, func(p *model.Post) { p.UpdateAt = mark + 9000 }).Id) // a reply bumped it
	keep = append(keep, stored(api, "validencryptedinthegapaaaa", aliceID, mark+100, encrypted(alice.v2Message(t, ctx, 2))).Id)
	keep = append(keep, stored(api, "olderkeyencryptedpinnedaaa", aliceID, mark-100, func(p *model.Post) {
		encrypted(oldAlice.v1Message(t, 2))(p)
		p.UpdateAt, p.IsPinned = mark+200, true
	}).Id)
	keep = append(keep, stored(api, "otherbotplaintextaaaaaaaaa", otherBotID, mark+300, nil).Id)
	keep = append(keep, stored(api, "ourbotplaintextaaaaaaaaaaa", p.botUserID, mark+400, nil).Id)
	keep = append(keep, stored(api, "systemmessageaaaaaaaaaaaaa", bobID, mark+500, func(p *model.Post) { p.Type = model.PostTypeJoinChannel }).Id)
	// Removed.
	drop = append(drop, stored(api, "plaintextinthegapaaaaaaaaa", bobID, mark+600, nil).Id)
	drop = append(drop, stored(api, "plaintextinthegapbbbbbbbbb", bobID, mark+700, nil).Id)
	drop = append(drop, stored(api, "encryptedpostdinplainaaaaa", aliceID, mark-300, func(p *model.Post) {
		encrypted(alice.v2Message(t, ctx, 2))(p)
		p.Message, p.EditAt, p.UpdateAt = secretText, mark+800, mark+800 // edited into plaintext
	}).Id)
	drop = append(drop, stored(api, "preencryptionpostediteda", carolID, mark-5000, func(p *model.Post) {
		p.EditAt, p.UpdateAt = mark+900, mark+900
	}).Id)
	drop = append(drop, stored(api, "encryptedpropsaddedaaaaaaa", aliceID, mark-400, func(p *model.Post) {
		encrypted(alice.v2Message(t, ctx, 2))(p)
		p.AddProp("note", secretText) // props changed without an edit mark
		p.UpdateAt = mark + 1000
	}).Id)
	drop = append(drop, stored(api, "burnonreadpostaaaaaaaaaaa", bobID, mark+1100, func(p *model.Post) {
		p.Type, p.Message = burnOnReadPostType, ""
	}).Id)
	drop = append(drop, stored(api, "forgedsignatureaaaaaaaaaa", bobID, mark+1200, encrypted(alice.v2Message(t, ctx, 2))).Id)

	started := model.GetMillis()
	p.sweepAll(context.Background(), "test", started)

	assert.ElementsMatch(t, drop, deletedIDs(api))
	// The rows of removed posts keep no text (the server's delete only marks them).
	assert.ElementsMatch(t, drop, api.scrubbed)
	for _, post := range api.posts {
		if post.DeleteAt != 0 {
			assert.Empty(t, post.Message, post.Id)
			assert.Nil(t, post.GetProp("note"), post.Id)
		}
	}
	// Each author is told once per channel, by the bot, without the text.
	bobDMs := dmsTo(api, p, bobID)
	require.Len(t, bobDMs, 1)
	assert.Contains(t, bobDMs[0], "4 of your messages")
	require.Len(t, dmsTo(api, p, aliceID), 1)
	require.Len(t, dmsTo(api, p, carolID), 1)
	assert.Empty(t, dmsTo(api, p, otherBotID))
	for _, post := range api.posts {
		if strings.HasPrefix(post.ChannelId, "dm_") {
			assert.NotContains(t, post.Message, secretText)
		}
	}
	// The admin is told in the log, with IDs and no text.
	var warned string
	for _, l := range api.logs {
		if strings.Contains(l, "removed posts") {
			warned = l
		}
		assert.NotContains(t, l, secretText)
	}
	assert.NotEmpty(t, warned)
	// The mark moved forward to the sweep's start, less the margin.
	newMark, err := strconv.ParseInt(string(api.kv[kvSweepMarkPrefix+chanID]), 10, 64)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, newMark, started-sweepMargin.Milliseconds())
	assert.Contains(t, api.kv, kvSweepLast)

	// Nothing more to do on the next run.
	before := len(api.posts)
	p.sweepAll(context.Background(), "test", started)
	assert.ElementsMatch(t, drop, deletedIDs(api))
	assert.Len(t, api.posts, before, "no new DMs")
}

func TestSweepPagesAndSkipsUnencryptedChannels(t *testing.T) {
	p, api, _, mark := sweepSetup(t)
	for i := range 450 {
		stored(api, fmt.Sprintf("gap%023d", i), bobID, mark+1+int64(i%7), nil) // many share an UpdateAt
	}
	// A channel that is not encrypted keeps its plaintext.
	api.addChannel(otherID, model.ChannelTypeOpen, bobID)
	api.kv[kvChanMethodPrefix+otherID] = []byte("0")
	api.posts = append(api.posts, &model.Post{Id: "plainelsewhereaaaaaaaaaaaa", UserId: bobID, ChannelId: otherID, CreateAt: mark + 1, UpdateAt: mark + 1, Message: "hi"})

	p.sweepAll(context.Background(), "test", model.GetMillis())
	assert.Len(t, deletedIDs(api), 450)
	assert.Contains(t, dmsTo(api, p, bobID)[0], "450 of your messages")
}

// A channel encrypted before this version has no mark: it is swept from the last complete
// sweep, or from this activation.
func TestSweepChannelWithoutMark(t *testing.T) {
	p, api, _, _ := sweepSetup(t)
	delete(api.kv, kvSweepMarkPrefix+chanID)
	activatedAt := model.GetMillis()
	stored(api, "longagoplaintextaaaaaaaaaa", bobID, activatedAt-2*sweepMargin.Milliseconds(), nil)
	stored(api, "sinceactivationplaintextaa", bobID, activatedAt+10, nil)
	p.sweepAll(context.Background(), "test", activatedAt)
	assert.Equal(t, []string{"sinceactivationplaintextaa"}, deletedIDs(api))
}

// When the posts cannot be listed, the mark stays, so the next sweep covers the same gap.
func TestSweepKeepsTheMarkOnFailure(t *testing.T) {
	p, api, _, mark := sweepSetup(t)
	stored(api, "plaintextinthegapaaaaaaaaa", bobID, mark+600, nil)
	markBefore := string(api.kv[kvSweepMarkPrefix+chanID])
	p.listChangedPosts = func(string, int64, string, int) ([]postRef, error) { return nil, errKV }
	p.sweepAll(context.Background(), "test", model.GetMillis())
	assert.Empty(t, deletedIDs(api))
	assert.Equal(t, markBefore, string(api.kv[kvSweepMarkPrefix+chanID]))
	assert.NotContains(t, api.kv, kvSweepLast)

	p.listChangedPosts = api.changedPosts
	p.sweepAll(context.Background(), "test", model.GetMillis())
	assert.Equal(t, []string{"plaintextinthegapaaaaaaaaa"}, deletedIDs(api))
}

func TestTurningEncryptionOnStartsTheMark(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	api.kv[kvChanMethodPrefix+chanID] = []byte("0")
	api.perms[aliceID+":"+model.PermissionManagePublicChannelProperties.Id] = true
	before := model.GetMillis()
	require.NoError(t, p.changeMethod(aliceID, chanID, methodP2P))
	mark, err := strconv.ParseInt(string(api.kv[kvSweepMarkPrefix+chanID]), 10, 64)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, mark, before, "posts from before encryption are never swept")
}

// OnActivate returns before the slow work: the server runs no hook until it does.
func TestOnActivateReturnsBeforeMigrationAndSweep(t *testing.T) {
	p, api, _, mark := sweepSetup(t)
	release := make(chan struct{})
	p.originalRows = func() ([]originalRow, error) {
		<-release
		return nil, nil
	}
	api.On("GetServerVersion").Return("11.7.0")
	api.On("EnsureBotUser", mock.Anything).Return(p.botUserID, nil)
	api.On("RegisterCommand", mock.Anything).Return(nil)
	stored(api, "plaintextinthegapaaaaaaaaa", bobID, mark+600, nil)

	returned := make(chan struct{})
	go func() {
		assert.NoError(t, p.OnActivate())
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("OnActivate waited for the migration")
	}
	assert.Empty(t, deletedIDs(api), "the sweep runs after the migration")
	close(release)
	<-p.afterActivated
	assert.Equal(t, []string{"plaintextinthegapaaaaaaaaa"}, deletedIDs(api), "the activation sweep removed what got in")
	require.NoError(t, p.OnDeactivate())
}

// The sweep must not remove genuine encrypted posts whose author replaced her key since.
func TestSweepKeepsEncryptedPostsAcrossKeyChanges(t *testing.T) {
	p, api, alice, mark := sweepSetup(t)
	ctx := messageContext{ChannelID: chanID, UserID: aliceID}
	newAlice := newTestUser(t)
	// Alice posted in the gap with her key, then replaced it before the sweep.
	history, _ := json.Marshal([]KeyHistoryEntry{{Pubkey: alice.pub, Since: 0}, {Pubkey: newAlice.pub, Since: mark + 500}})
	api.kv[kvHistoryPrefix+aliceID] = history
	api.kv[kvPubkeyPrefix+aliceID] = newAlice.pub.Marshal()
	enc := func(e2ee map[string]any) func(*model.Post) {
		return func(post *model.Post) {
			post.Type, post.Message = encryptedPostType, encryptedPlaceholder
			post.AddProp("e2ee", e2ee)
		}
	}
	stored(api, "postedbeforekeychangeaaaaa", aliceID, mark+100, enc(alice.v2Message(t, ctx, 2)))
	// An older post that no longer verifies with any listed key, only touched (a reply): left, reported.
	gone := newTestUser(t)
	stored(api, "agedoutkeytouchedaaaaaaaaa", aliceID, mark-100, func(post *model.Post) {
		enc(gone.v2Message(t, ctx, 2))(post)
		post.UpdateAt = mark + 200
	})
	// The same, but its e2ee carries an extra field: malformed, removed.
	stored(api, "malformede2eetouchedaaaaaa", aliceID, mark-100, func(post *model.Post) {
		m := alice.v2Message(t, ctx, 2)
		m["note"] = secretText
		enc(m)(post)
		post.UpdateAt = mark + 300
	})
	p.sweepAll(context.Background(), "test", model.GetMillis())
	assert.Equal(t, []string{"malformede2eetouchedaaaaaa"}, deletedIDs(api))
	var reported bool
	for _, l := range api.logs {
		reported = reported || strings.Contains(l, "does not verify with any registered key")
	}
	assert.True(t, reported)
}
