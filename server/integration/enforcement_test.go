//go:build integration

package integration

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newEncryptedChannel: a fresh public channel of w.owner, with w.member, turned encrypted.
func (w *world) newEncryptedChannel(t *testing.T, display string) string {
	var ch struct {
		ID string `json:"id"`
	}
	w.owner.mustJSON("POST", "/api/v4/channels", map[string]string{
		"team_id": w.e.teamID, "name": randomName("enf-"), "display_name": display, "type": "O",
	}, http.StatusCreated, &ch)
	w.owner.mustJSON("POST", "/api/v4/channels/"+ch.ID+"/members", map[string]string{"user_id": w.member.userID}, http.StatusCreated, nil)
	r := w.owner.plugin("POST", "/channel/encryption_method?chanID="+ch.ID+"&method=p2p", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	return ch.ID
}

// TestAdminCannotRewriteBotAnnouncement: a system admin may edit anyone's post, the bot's
// included; the update hook used to judge the edit by the post's author (the bot, which may
// post in clear), so the admin could put plaintext into an encrypted channel that way.
func TestAdminCannotRewriteBotAnnouncement(t *testing.T) {
	w := setup(t)
	channelID := w.newEncryptedChannel(t, "Bot edit")
	var announcement post
	eventually(t, 10*time.Second, func() bool {
		for _, p := range w.owner.channelPosts(channelID) {
			if strings.Contains(p.Message, "turned on end-to-end encryption") {
				announcement = p
				return true
			}
		}
		return false
	}, "no announcement by the bot")
	require.NotEqual(t, w.owner.userID, announcement.UserID, "the announcement is the bot's")

	r := w.admin.do("PUT", "/api/v4/posts/"+announcement.ID, map[string]any{
		"id": announcement.ID, "channel_id": channelID, "message": "admin wrote this in clear via PUT",
	})
	assert.Equal(t, http.StatusBadRequest, r.status, "PUT: %s", r.body)
	assert.Contains(t, string(r.body), "only its author can change an unencrypted message")

	r = w.admin.do("PUT", "/api/v4/posts/"+announcement.ID+"/patch", map[string]any{"message": "admin wrote this in clear via patch"})
	assert.Equal(t, http.StatusBadRequest, r.status, "patch: %s", r.body)

	var stored post
	w.admin.mustJSON("GET", "/api/v4/posts/"+announcement.ID, nil, http.StatusOK, &stored)
	assert.Equal(t, announcement.Message, stored.Message, "the announcement is unchanged")
	for _, p := range w.owner.channelPosts(channelID) {
		assert.NotContains(t, p.Message, "admin wrote this")
	}

	// Pinning changes no text: still allowed for the admin.
	r = w.admin.do("POST", "/api/v4/posts/"+announcement.ID+"/pin", nil)
	assert.Equal(t, http.StatusOK, r.status, "pin: %s", r.body)
}
