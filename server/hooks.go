package main

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/mme2ee/mattermost-plugin-e2ee/server/e2eeformat"
)

const (
	encryptedPostType    = "custom_e2ee"
	encryptedPlaceholder = "Encrypted message"
)

// harmlessProps are the only props besides e2ee an encrypted post may carry: flags the web
// app sets, which cannot hold text.
var harmlessProps = map[string]bool{
	"disable_group_highlight":  true,
	"mentionHighlightDisabled": true,
}

// PostRejectedError says why a post is refused in an encrypted channel.
type PostRejectedError struct{ Reason string }

func (e *PostRejectedError) Error() string { return e.Reason }

const encryptedChannelNotice = "This channel is end-to-end encrypted: only messages encrypted by the E2EE plugin in the Mattermost web or desktop app can be posted here."

// checkEncryptedPost verifies that post is an acceptable encrypted post: the placeholder
// text, only encrypted files of its author in this channel (files.go), no props that could carry plaintext, and a valid signature by the author.
func (p *Plugin) checkEncryptedPost(post *model.Post) error {
	e2ee, err := checkEncryptedShape(post)
	if err != nil {
		return err
	}
	if err := p.checkEncryptedPostFiles(post); err != nil {
		return err
	}
	key, err := p.store().getPubkey(post.UserId)
	if err != nil {
		return err
	}
	if key == nil {
		return &PostRejectedError{Reason: "you have no registered public key; run /e2ee init in the web app"}
	}
	ctx := messageContext{ChannelID: post.ChannelId, RootID: post.RootId, UserID: post.UserId}
	if v, raw := e2eeformat.Version(e2ee); v == 3 {
		if err := p.checkV3Post(raw, key, ctx); err != nil {
			var r *PostRejectedError
			if errors.As(err, &r) {
				return err
			}
			var inv *InvalidMessageError
			if errors.As(err, &inv) {
				return &PostRejectedError{Reason: err.Error()}
			}
			return err
		}
		return nil
	}
	if err := e2eeformat.VerifyMessage(e2ee, key, ctx); err != nil {
		return &PostRejectedError{Reason: err.Error()}
	}
	return nil
}

// checkEncryptedShape checks everything but the signature and the files (checkEncryptedPostFiles)
// and returns props.e2ee.
func checkEncryptedShape(post *model.Post) (any, error) {
	if post.Type != encryptedPostType {
		return nil, &PostRejectedError{Reason: "the message is not encrypted"}
	}
	if post.Message != encryptedPlaceholder {
		return nil, &PostRejectedError{Reason: "an encrypted post's message must be the placeholder \"" + encryptedPlaceholder + "\""}
	}
	props := post.GetProps()
	e2ee, ok := props["e2ee"]
	if !ok {
		return nil, &PostRejectedError{Reason: "the encrypted post has no props.e2ee"}
	}
	for k, v := range props {
		if k == "e2ee" {
			continue
		}
		if _, isBool := v.(bool); !harmlessProps[k] || !isBool {
			return nil, &PostRejectedError{Reason: "encrypted posts cannot carry the property " + k}
		}
	}
	return e2ee, nil
}

// typePassesUnencrypted: system messages and admin-listed types, whoever posts them.
func (p *Plugin) typePassesUnencrypted(post *model.Post) bool {
	if strings.HasPrefix(post.Type, model.PostSystemMessagePrefix) {
		return true
	}
	return post.Type != "" && slices.Contains(p.getConfiguration().allowedMsgTypes(), post.Type)
}

// passesUnencrypted: system messages, admin-listed types, our bot and (if allowed) bots.
func (p *Plugin) passesUnencrypted(post *model.Post) bool {
	if p.typePassesUnencrypted(post) {
		return true
	}
	cfg := p.getConfiguration()
	if post.UserId == p.botUserID && p.botUserID != "" {
		return true
	}
	if cfg.BotCanAlwaysPost {
		if u, appErr := p.API.GetUser(post.UserId); appErr == nil && u.IsBot {
			return true
		}
	}
	return false
}

// channelEncrypted fails closed: if the mode cannot be read, the channel counts as encrypted.
func (p *Plugin) channelEncrypted(channelID string) bool {
	m, err := p.store().getMethod(channelID)
	if err != nil {
		p.API.LogError("E2EE: cannot read a channel's encryption method; treating it as encrypted", "channel_id", channelID, "error", err.Error())
		return true
	}
	return m != methodNone
}

// MessageWillBePosted refuses anything but valid encrypted posts in encrypted channels. When
// the channel's mode cannot be read (database away), it refuses every post that is not allowed
// in clear anywhere, saying the server could not check it: the channel may not be encrypted.
func (p *Plugin) MessageWillBePosted(_ *plugin.Context, post *model.Post) (*model.Post, string) {
	m, modeErr := p.store().getMethod(post.ChannelId)
	if modeErr == nil && m == methodNone {
		return nil, ""
	}
	if post.Type != encryptedPostType && p.passesUnencrypted(post) {
		return nil, ""
	}
	if modeErr != nil {
		return nil, p.reject(post, fmt.Errorf("reading the channel's encryption mode: %w", modeErr))
	}
	if err := p.checkEncryptedPost(post); err != nil {
		return nil, p.reject(post, err)
	}
	return nil, ""
}

// MessageWillBeUpdated: an encrypted post stays encrypted, and nothing in an encrypted
// channel can be edited into plaintext (older plaintext posts may only keep their text).
// Unlike MessageWillBePosted, this hook allows an update only by returning the new post.
// The editor comes from the request's session (editor.go): the posts' UserId is the author.
func (p *Plugin) MessageWillBeUpdated(c *plugin.Context, newPost, oldPost *model.Post) (*model.Post, string) {
	if err := p.checkUpdate(c, newPost, oldPost); err != nil {
		return nil, p.reject(p.refusedEditor(c, newPost), err)
	}
	markEncryptedEdit(newPost, oldPost)
	return newPost, ""
}

// markEncryptedEdit: the server marks a post edited only when its message changes, and an
// encrypted edit keeps the placeholder; a new ciphertext is an edit all the same.
func markEncryptedEdit(newPost, oldPost *model.Post) {
	if newPost.Type != encryptedPostType || newPost.EditAt != oldPost.EditAt {
		return
	}
	if !reflect.DeepEqual(newPost.GetProp("e2ee"), oldPost.GetProp("e2ee")) {
		newPost.EditAt = model.GetMillis()
	}
}

func (p *Plugin) checkUpdate(c *plugin.Context, newPost, oldPost *model.Post) error {
	wasEncrypted := oldPost.Type == encryptedPostType
	if !wasEncrypted && !p.channelEncrypted(oldPost.ChannelId) {
		return nil
	}
	if sameContent(newPost, oldPost) {
		return nil
	}
	if !wasEncrypted && newPost.Type == oldPost.Type && p.passesUnencrypted(newPost) {
		return p.checkPlaintextEditor(c, newPost)
	}
	return p.checkEncryptedPost(newPost)
}

// sameContent: pinning and similar updates leave what a post says unchanged.
func sameContent(a, b *model.Post) bool {
	return a.Message == b.Message && a.Type == b.Type && slices.Equal(a.FileIds, b.FileIds) &&
		reflect.DeepEqual(a.GetProps(), b.GetProps())
}

// reject returns the reason shown to the author, and tells them in the channel too since
// mobile apps do not show a refused post's reason.
func (p *Plugin) reject(post *model.Post, err error) string {
	reason := encryptedChannelNotice
	var r *PostRejectedError
	if errors.As(err, &r) {
		reason += " Your message was refused: " + r.Reason + "."
	} else {
		p.API.LogError("E2EE: cannot check a post", "error", err.Error())
		reason += " Your message was refused: the server could not check it."
	}
	if post.UserId != "" && p.botUserID != "" {
		p.API.SendEphemeralPost(post.UserId, &model.Post{
			UserId:    p.botUserID,
			ChannelId: post.ChannelId,
			RootId:    post.RootId,
			Message:   reason,
		})
	}
	return reason
}

// FileWillBeUploaded accepts only encrypted files (format F1, files.go) in encrypted channels; it
// reads only their header and never changes the content.
func (p *Plugin) FileWillBeUploaded(_ *plugin.Context, info *model.FileInfo, file io.Reader, _ io.Writer) (*model.FileInfo, string) {
	if info == nil || info.ChannelId == "" || !p.channelEncrypted(info.ChannelId) {
		return nil, ""
	}
	if err := p.checkF1Upload(info, file); err != nil {
		return nil, "This channel is end-to-end encrypted: " + err.Error() + "."
	}
	return nil, ""
}
