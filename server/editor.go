package main

import (
	"fmt"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// The update hook is handed the stored post, whose UserId is its author, not the user whose
// request changes it: system admins (and anyone with "edit others' posts") may edit other
// users' posts, bots' included. The editor is the user of the request's session.

// editorOf returns the user making the update. A request with no session is server-side code
// (the server itself, this or another plugin through the plugin API): it acts as the author,
// as plugins update their own bot's posts that way.
func (p *Plugin) editorOf(c *plugin.Context, post *model.Post) (string, error) {
	if c == nil || c.SessionId == "" {
		return post.UserId, nil
	}
	s, appErr := p.API.GetSession(c.SessionId)
	if appErr != nil {
		return "", fmt.Errorf("reading the editor's session: %w", appErr)
	}
	if s == nil || s.UserId == "" {
		return "", fmt.Errorf("the editor's session has no user")
	}
	return s.UserId, nil
}

// checkPlaintextEditor: a plaintext post in an encrypted channel that passes as its author (our
// bot, or a bot while BotCanAlwaysPost is on) may be rewritten in clear by that author only.
// Types anyone may post in clear (system messages, AlwaysAllowMsgTypes) stay editable by anyone
// allowed to edit them: refusing the edit would not keep their text from the server.
func (p *Plugin) checkPlaintextEditor(c *plugin.Context, post *model.Post) error {
	if p.typePassesUnencrypted(post) {
		return nil
	}
	editor, err := p.editorOf(c, post)
	if err != nil {
		return err // fails closed: reject says the server could not check it
	}
	if editor != post.UserId {
		return &PostRejectedError{Reason: "only its author can change an unencrypted message in an encrypted channel"}
	}
	return nil
}

// refusedEditor returns a copy of post addressed to the editor, so that the refusal notice
// goes to who made the edit rather than to the post's author (often a bot).
func (p *Plugin) refusedEditor(c *plugin.Context, post *model.Post) *model.Post {
	editor, err := p.editorOf(c, post)
	if err != nil || editor == post.UserId {
		return post
	}
	cp := post.Clone()
	cp.UserId = editor
	return cp
}
