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
// can refuse one before it is stored. Hooks that do still run for one, where the plugin removes
// it: NotificationWillBePushed (push to an away member), ReactionHasBeenAdded (a reader reacted),
// MessageHasBeenPosted (servers that call it for this type); and the sweep (sweep.go) on every
// server. FileWillBeUploaded refuses its files already; EmailNotificationWillBeSent carries no
// post type (a read per email to learn it); MessagesWillBeConsumed runs only behind a feature
// flag that is off by default.
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
// first so that ordinary posts cost no KV read. It also counts channel-key posts per epoch
// (rotation after ChannelKeyRotationMessages).
func (p *Plugin) MessageHasBeenPosted(_ *plugin.Context, post *model.Post) {
	if post != nil {
		p.countV3Post(post)
	}
	if post == nil || post.Type != burnOnReadPostType || !p.channelEncrypted(post.ChannelId) || p.passesUnencrypted(post) {
		return
	}
	p.removeBurnOnRead(post.Id, post.ChannelId, post.UserId)
}

// removeBurnOnRead deletes a burn-on-read post found in an encrypted channel and reports it.
func (p *Plugin) removeBurnOnRead(postID, channelID, authorID string) {
	removed := sweepRemoved{channelID: channelID, authors: map[string]int{}}
	if appErr := p.API.DeletePost(postID); appErr != nil {
		p.API.LogError("E2EE: cannot remove a burn-on-read post from an encrypted channel; the next sweep retries", "post_id", postID, "channel_id", channelID, "error", appErr.Error())
		return
	}
	removed.postIDs = append(removed.postIDs, postID)
	removed.authors[authorID]++
	p.reportSweep(removed)
}

// burnOnReadRefused: a post of this type in an encrypted channel by an author who may not post
// in clear.
func (p *Plugin) burnOnReadRefused(postType, channelID, authorID string) bool {
	return postType == burnOnReadPostType && channelID != "" && p.channelEncrypted(channelID) &&
		!p.passesUnencrypted(&model.Post{Type: postType, UserId: authorID, ChannelId: channelID})
}

// NotificationWillBePushed: the server pushes burn-on-read posts to away members; such a push
// from an encrypted channel is dropped and the post removed. Other pushes pass unread.
func (p *Plugin) NotificationWillBePushed(n *model.PushNotification, _ string) (*model.PushNotification, string) {
	if n == nil || n.PostType != burnOnReadPostType || !p.burnOnReadRefused(n.PostType, n.ChannelId, n.SenderId) {
		return nil, ""
	}
	p.removeBurnOnRead(n.PostId, n.ChannelId, n.SenderId)
	return nil, "E2EE: burn-on-read message removed from an end-to-end encrypted channel"
}

// ReactionHasBeenAdded: a reader can react to a burn-on-read post once revealed; a reaction in
// an encrypted channel is a chance to find one before the sweep.
func (p *Plugin) ReactionHasBeenAdded(_ *plugin.Context, r *model.Reaction) {
	if r == nil || r.ChannelId == "" || !p.channelEncrypted(r.ChannelId) {
		return
	}
	post, appErr := p.API.GetPost(r.PostId)
	if appErr != nil || post.DeleteAt != 0 || !p.burnOnReadRefused(post.Type, post.ChannelId, post.UserId) {
		return
	}
	p.removeBurnOnRead(post.Id, post.ChannelId, post.UserId)
}
