package main

import (
	"net/http"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	editorAdminID = "adminidadminidadminidadmin"
	otherBot      = "otherbototherbototherboto"
	adminSess     = "sessadminsessadminsessadmi"
	botSess       = "sessbotsessbotsessbotsessb"
)

// withSessions makes the fake API answer GetSession for the admin's and the other bot's sessions.
func withSessions(api *fakeAPI) {
	api.On("GetSession", adminSess).Return(&model.Session{Id: adminSess, UserId: editorAdminID}, nil)
	api.On("GetSession", botSess).Return(&model.Session{Id: botSess, UserId: otherBot}, nil)
	api.On("GetSession", "expired").Return(nil, model.NewAppError("GetSession", "session.missing", nil, "", http.StatusBadRequest))
}

func plainEdit(post *model.Post, text string) *model.Post {
	edited := post.Clone()
	edited.Message = text
	return edited
}

func TestPlaintextEditOfBotPostsNeedsTheBotItself(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	withSessions(api)
	api.addUser(editorAdminID, "admin", false)
	api.addUser(otherBot, "poll", true)
	announcement := &model.Post{Id: "annannannannannannannannan", UserId: p.botUserID, ChannelId: chanID, Message: "@alice turned on end-to-end encryption"}
	pollPost := &model.Post{Id: "pollpollpollpollpollpollpo", UserId: otherBot, ChannelId: chanID, Message: "Vote: lunch?"}

	// An admin (allowed by the server to edit others' posts) rewrites the bot's announcement.
	out, reason := p.MessageWillBeUpdated(&plugin.Context{SessionId: adminSess}, plainEdit(announcement, "the secret plan is..."), announcement)
	assert.Nil(t, out)
	assert.Contains(t, reason, "only its author can change an unencrypted message")
	require.NotEmpty(t, api.ephemeralTo)
	assert.Equal(t, editorAdminID, api.ephemeralTo[len(api.ephemeralTo)-1], "the editor is told, not the bot")

	// The same for another bot's post while bots may post in clear.
	out, reason = p.MessageWillBeUpdated(&plugin.Context{SessionId: adminSess}, plainEdit(pollPost, "secret"), pollPost)
	assert.Nil(t, out)
	assert.NotEmpty(t, reason)

	// A session that cannot be read fails closed.
	out, reason = p.MessageWillBeUpdated(&plugin.Context{SessionId: "expired"}, plainEdit(pollPost, "secret"), pollPost)
	assert.Nil(t, out)
	assert.Contains(t, reason, "could not check")

	// The bots themselves: ours through the plugin API (no session), the other through its token.
	out, reason = p.MessageWillBeUpdated(&plugin.Context{}, plainEdit(announcement, "updated notice"), announcement)
	assert.Empty(t, reason)
	assert.NotNil(t, out)
	out, reason = p.MessageWillBeUpdated(nil, plainEdit(announcement, "updated notice"), announcement)
	assert.Empty(t, reason)
	assert.NotNil(t, out)
	out, reason = p.MessageWillBeUpdated(&plugin.Context{SessionId: botSess}, plainEdit(pollPost, "Vote: dinner?"), pollPost)
	assert.Empty(t, reason)
	assert.NotNil(t, out)

	// Pinning (same content) stays allowed for anyone.
	pinned := announcement.Clone()
	pinned.IsPinned = true
	out, reason = p.MessageWillBeUpdated(&plugin.Context{SessionId: adminSess}, pinned, announcement)
	assert.Empty(t, reason)
	assert.NotNil(t, out)
}

func TestPlaintextEditOfOtherBotRefusedWhenBotsMayNotPost(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	withSessions(api)
	api.addUser(otherBot, "poll", true)
	p.setConfiguration(&configuration{BotCanAlwaysPost: false})
	pollPost := &model.Post{Id: "pollpollpollpollpollpollpo", UserId: otherBot, ChannelId: chanID, Message: "Vote: lunch?"}
	out, reason := p.MessageWillBeUpdated(&plugin.Context{SessionId: botSess}, plainEdit(pollPost, "Vote: dinner?"), pollPost)
	assert.Nil(t, out)
	assert.Contains(t, reason, "not encrypted")
}

func TestPlaintextEditOfListedTypeByOthers(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	withSessions(api)
	p.setConfiguration(&configuration{BotCanAlwaysPost: true, AlwaysAllowMsgTypes: "custom_poll"})
	poll := &model.Post{Id: "pollpollpollpollpollpollpo", UserId: bobID, ChannelId: chanID, Type: "custom_poll", Message: "Vote"}
	out, reason := p.MessageWillBeUpdated(&plugin.Context{SessionId: adminSess}, plainEdit(poll, "Vote again"), poll)
	assert.Empty(t, reason, "a listed type may be posted in clear by anyone, so editing it is no worse")
	assert.NotNil(t, out)
}

func TestPlaintextEditOfBotPostInUnencryptedChannel(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	withSessions(api)
	api.kv[kvChanMethodPrefix+chanID] = []byte("0")
	announcement := &model.Post{Id: "annannannannannannannannan", UserId: p.botUserID, ChannelId: chanID, Message: "notice"}
	out, reason := p.MessageWillBeUpdated(&plugin.Context{SessionId: adminSess}, plainEdit(announcement, "anything"), announcement)
	assert.Empty(t, reason)
	assert.NotNil(t, out)
}
