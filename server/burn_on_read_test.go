package main

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The server runs no MessageWillBePosted for burn-on-read posts; where it reports one
// afterwards, the plugin removes it from an encrypted channel and tells its author.
func TestMessageHasBeenPostedRemovesBurnOnRead(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	bor := stored(api, "burnonreadpostaaaaaaaaaaa", bobID, model.GetMillis(), func(p *model.Post) { p.Type = burnOnReadPostType })
	p.MessageHasBeenPosted(nil, bor.Clone())
	assert.Equal(t, []string{bor.Id}, deletedIDs(api))
	require.Len(t, dmsTo(api, p, bobID), 1)
	assert.NotContains(t, dmsTo(api, p, bobID)[0], secretText)
	var warned bool
	for _, l := range api.logs {
		warned = warned || (len(l) > 0 && l[:4] == "WARN")
		assert.NotContains(t, l, secretText)
	}
	assert.True(t, warned, "the admin is told in the log")
}

func TestMessageHasBeenPostedLeavesOthersAlone(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	api.addUser(otherBotID, "poll", true)
	// An ordinary post was checked before it was stored: not even a KV read.
	plain := stored(api, "plainplainplainplainplainp", bobID, model.GetMillis(), nil)
	api.kvFail = true
	p.MessageHasBeenPosted(nil, plain.Clone())
	api.kvFail = false
	// Burn-on-read in an unencrypted channel, and by a bot allowed to post in clear.
	api.addChannel(otherID, model.ChannelTypeOpen, bobID)
	elsewhere := stored(api, "borelsewhereaaaaaaaaaaaaa", bobID, model.GetMillis(), func(p *model.Post) {
		p.Type, p.ChannelId = burnOnReadPostType, otherID
	})
	p.MessageHasBeenPosted(nil, elsewhere.Clone())
	byBot := stored(api, "borbybotaaaaaaaaaaaaaaaaa", otherBotID, model.GetMillis(), func(p *model.Post) { p.Type = burnOnReadPostType })
	p.MessageHasBeenPosted(nil, byBot.Clone())
	assert.Empty(t, deletedIDs(api))
}

func TestBurnOnReadWarning(t *testing.T) {
	for name, c := range map[string]struct {
		flag    bool
		setting *bool
		warns   bool
	}{
		"default (setting unset, flag on)": {true, nil, true},
		"setting on":                       {true, model.NewPointer(true), true},
		"setting off":                      {true, model.NewPointer(false), false},
		"feature flag off":                 {false, model.NewPointer(true), false},
	} {
		t.Run(name, func(t *testing.T) {
			p, api := newTestPlugin()
			api.On("GetConfig").Return(&model.Config{
				FeatureFlags:    &model.FeatureFlags{BurnOnRead: c.flag},
				ServiceSettings: model.ServiceSettings{EnableBurnOnRead: c.setting},
			})
			p.warnAboutBurnOnRead()
			if c.warns {
				require.Len(t, api.logs, 1)
				assert.Contains(t, api.logs[0], "EnableBurnOnRead")
			} else {
				assert.Empty(t, api.logs)
			}
		})
	}
}

// The System Console shows the settings header: it must warn while burn-on-read can be on.
func TestSystemConsoleWarnsAboutBurnOnRead(t *testing.T) {
	raw, err := os.ReadFile("../plugin.json")
	require.NoError(t, err)
	var m struct {
		SettingsSchema struct {
			Header string `json:"header"`
		} `json:"settings_schema"`
	}
	require.NoError(t, json.Unmarshal(raw, &m))
	assert.Contains(t, m.SettingsSchema.Header, "EnableBurnOnRead")
	assert.Contains(t, m.SettingsSchema.Header, "burn-on-read messages skip every plugin check")
}

func TestNotificationWillBePushedRemovesBurnOnRead(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	bor := stored(api, "burnonreadpostaaaaaaaaaaa", bobID, model.GetMillis(), func(p *model.Post) { p.Type = burnOnReadPostType })
	out, reason := p.NotificationWillBePushed(&model.PushNotification{PostId: bor.Id, ChannelId: chanID, SenderId: bobID, PostType: burnOnReadPostType}, carolID)
	assert.Nil(t, out)
	assert.NotEmpty(t, reason, "the push is dropped")
	assert.Equal(t, []string{bor.Id}, deletedIDs(api))
	require.Len(t, dmsTo(api, p, bobID), 1)

	// Ordinary pushes pass without a KV read.
	api.kvFail = true
	out, reason = p.NotificationWillBePushed(&model.PushNotification{PostId: "x", ChannelId: chanID, SenderId: bobID, PostType: encryptedPostType}, carolID)
	api.kvFail = false
	assert.Nil(t, out)
	assert.Empty(t, reason)
}

func TestReactionHasBeenAddedRemovesBurnOnRead(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	bor := stored(api, "burnonreadpostaaaaaaaaaaa", bobID, model.GetMillis(), func(p *model.Post) { p.Type = burnOnReadPostType })
	plain := stored(api, "ordinaryplaintextaaaaaaaa", p.botUserID, model.GetMillis(), nil)
	p.ReactionHasBeenAdded(nil, &model.Reaction{UserId: carolID, PostId: plain.Id, ChannelId: chanID, EmojiName: "+1"})
	assert.Empty(t, deletedIDs(api))
	p.ReactionHasBeenAdded(nil, &model.Reaction{UserId: carolID, PostId: bor.Id, ChannelId: chanID, EmojiName: "fire"})
	assert.Equal(t, []string{bor.Id}, deletedIDs(api))
}
