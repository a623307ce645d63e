package main

import (
	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// Burn-on-read posts (type burn_on_read; Enterprise Advanced licence, and
// ServiceSettings.EnableBurnOnRead, on by default) skip the plugin hooks: the server (pinned
// 11.4.0, channels/app/post.go) runs neither MessageWillBePosted nor MessageHasBeenPosted for
// them, refuses edits of them (so no update hook), keeps their text in its TemporaryPosts table
// and reveals it to each reader (POST /api/v4/posts/{id}/reveal) with no hook either. Nothing
// can refuse one before it is stored: the plugin removes it afterwards, in MessageHasBeenPosted
// on servers that call it for this type, and in the sweep (sweep.go) on every server.
const burnOnReadPostType = model.PostTypeBurnOnRead

const burnOnReadWarning = "E2EE: burn-on-read messages are enabled (ServiceSettings.EnableBurnOnRead): the server runs no plugin check for them, so one can be stored in an encrypted channel in plaintext by any client without the plugin; the plugin removes them from encrypted channels at its next sweep (every 5 minutes and at each activation). Turn burn-on-read off (System Console > Site Configuration > Posts) to close this."

// burnOnReadEnabled: the type is accepted only with the feature flag and the setting on (and
// a licence, which the plugin API does not let us check cheaply; it warns regardless).
func burnOnReadEnabled(cfg *model.Config) bool {
	if cfg == nil {
		return false
	}
	return cfg.FeatureFlags != nil && cfg.FeatureFlags.BurnOnRead &&
		(cfg.ServiceSettings.EnableBurnOnRead == nil || *cfg.ServiceSettings.EnableBurnOnRead)
}

// warnAboutBurnOnRead tells the admin in the log at each activation while the setting is on.
func (p *Plugin) warnAboutBurnOnRead() {
	if burnOnReadEnabled(p.API.GetConfig()) {
		p.API.LogWarn(burnOnReadWarning)
	}
}

// MessageHasBeenPosted removes a burn-on-read post from an encrypted channel as soon as the
// server reports it. Other types were checked by MessageWillBePosted; the type test comes
// first so that ordinary posts cost no KV read.
func (p *Plugin) MessageHasBeenPosted(_ *plugin.Context, post *model.Post) {
	if post == nil || post.Type != burnOnReadPostType || !p.channelEncrypted(post.ChannelId) || p.passesUnencrypted(post) {
		return
	}
	removed := sweepRemoved{channelID: post.ChannelId, authors: map[string]int{}}
	if appErr := p.API.DeletePost(post.Id); appErr != nil {
		p.API.LogError("E2EE: cannot remove a burn-on-read post from an encrypted channel; the next sweep retries", "post_id", post.Id, "channel_id", post.ChannelId, "error", appErr.Error())
		return
	}
	removed.postIDs = append(removed.postIDs, post.Id)
	removed.authors[post.UserId]++
	p.reportSweep(removed)
}
