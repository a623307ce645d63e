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

// registerFreshKey registers a new key for c, with its proof: the one place this file pushes keys.
func (c *client) registerFreshKey(t *testing.T) {
	t.Helper()
	pub, signer := freshKey(t)
	r := c.pushKey(pub, signer, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
}

func (c *client) createDM(t *testing.T, other *client) string {
	t.Helper()
	var ch struct {
		ID string `json:"id"`
	}
	c.mustJSON("POST", "/api/v4/channels/direct", []string{c.userID, other.userID}, http.StatusCreated, &ch)
	return ch.ID
}

func (c *client) methodOf(t *testing.T, channelID string) string {
	t.Helper()
	var m struct {
		Method string `json:"method"`
	}
	r := c.plugin("GET", "/channel/encryption_method?chanID="+channelID, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r.json(t, &m)
	return m.Method
}

// setting reads a plugin setting; the server keeps the keys' case as they were saved.
func (w *world) setting(t *testing.T, key string) any {
	var cfg struct {
		PluginSettings struct {
			Plugins map[string]map[string]any
		}
	}
	w.admin.mustJSON("GET", "/api/v4/config", nil, http.StatusOK, &cfg)
	for k, v := range cfg.PluginSettings.Plugins[w.e.pluginID] {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// patchPluginSettings saves several settings at once and returns the server's answer.
func (w *world) patchPluginSettings(settings map[string]any) response {
	patch := map[string]any{"PluginSettings": map[string]any{"Plugins": map[string]any{w.e.pluginID: settings}}}
	return w.admin.do("PUT", "/api/v4/config/patch", patch)
}

// TestEncryptionPolicy: AutoEncryptDirect=when_all_have_keys and RequireEncryption on the
// real server, from DM creation to a refused plaintext post and a refused switch to none.
func TestEncryptionPolicy(t *testing.T) {
	w := setup(t)
	e := w.e
	prevDirect, prevRequire := w.setting(t, "AutoEncryptDirect"), w.setting(t, "RequireEncryption")
	if prevDirect == nil {
		prevDirect = "off"
	}
	if prevRequire == nil {
		prevRequire = false
	}
	r := w.patchPluginSettings(map[string]any{"AutoEncryptDirect": "when_all_have_keys", "RequireEncryption": false})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	defer func() {
		r := w.patchPluginSettings(map[string]any{"AutoEncryptDirect": prevDirect, "RequireEncryption": prevRequire})
		assert.Equal(t, http.StatusOK, r.status, "%s", r.body)
	}()

	ann := e.newUser(t, w.admin, "polann")
	ben := e.newUser(t, w.admin, "polben")
	cas := e.newUser(t, w.admin, "polcas")
	ann.registerFreshKey(t)
	ben.registerFreshKey(t)

	// Both have keys: the DM starts encrypted (ChannelHasBeenCreated runs just after creation).
	dm := ann.createDM(t, ben)
	eventually(t, 10*time.Second, func() bool { return ann.methodOf(t, dm) == "p2p" }, "the DM between two users with keys was not encrypted")
	posts := ann.channelPosts(dm)
	require.NotEmpty(t, posts)
	assert.Contains(t, posts[0].Message, "AutoEncryptDirect = when_all_have_keys", "the bot names the policy")

	// Cas has no key: the DM stays plaintext...
	dmCas := ann.createDM(t, cas)
	time.Sleep(time.Second) // the creation hook is asynchronous: give it the time to (not) act
	assert.Equal(t, "none", ann.methodOf(t, dmCas))
	// ...until she registers one.
	cas.registerFreshKey(t)
	assert.Equal(t, "p2p", ann.methodOf(t, dmCas), "the DM turns encrypted when its last member without a key registers one")
	posts = cas.channelPosts(dmCas)
	require.NotEmpty(t, posts)
	assert.Contains(t, posts[0].Message, "AutoEncryptDirect")

	// A plaintext post is then refused.
	r = cas.createPost(post{ChannelID: dmCas, Message: "secret plaintext after the policy"})
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	assert.Contains(t, string(r.body), "end-to-end encrypted")
	for _, p := range ann.channelPosts(dmCas) {
		assert.NotContains(t, p.Message, "secret plaintext", "a refused post was stored")
	}

	// Invalid values are refused when saved, with the reason, and the last good configuration
	// stays active.
	r = w.patchPluginSettings(map[string]any{"AutoEncryptDirect": "sometimes", "RequireEncryption": true})
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	assert.Contains(t, string(r.body), `AutoEncryptDirect \"sometimes\" is not one of off, when_all_have_keys, always`)
	assert.Equal(t, "when_all_have_keys", w.setting(t, "AutoEncryptDirect"))
	var stats struct {
		Policy struct {
			AutoEncryptDirect string `json:"auto_encrypt_direct"`
			RequireEncryption bool   `json:"require_encryption"`
		} `json:"policy"`
	}
	r = w.admin.plugin("GET", "/admin/stats", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r.json(t, &stats)
	assert.Equal(t, "when_all_have_keys", stats.Policy.AutoEncryptDirect)
	assert.False(t, stats.Policy.RequireEncryption)
	dm2 := ben.createDM(t, cas)
	eventually(t, 10*time.Second, func() bool { return ben.methodOf(t, dm2) == "p2p" }, "the last good policy no longer applies")

	// RequireEncryption: a member cannot switch to none (API 403 with the reason, /e2ee stop);
	// a system admin can.
	r = w.patchPluginSettings(map[string]any{"RequireEncryption": true})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r = cas.plugin("POST", "/channel/encryption_method?chanID="+dmCas+"&method=none", nil)
	assert.Equal(t, http.StatusForbidden, r.status, "%s", r.body)
	assert.Contains(t, errorOf(t, r), "RequireEncryption")
	assert.Contains(t, cas.command(dmCas, "/e2ee stop"), "only a system admin can turn it off")
	assert.Equal(t, "p2p", ann.methodOf(t, dmCas))

	ann.mustJSON("PUT", "/api/v4/users/"+ann.userID+"/roles", nil, http.StatusForbidden, nil) // users cannot promote themselves
	w.admin.mustJSON("PUT", "/api/v4/users/"+ann.userID+"/roles", map[string]string{"roles": "system_user system_admin"}, http.StatusOK, nil)
	r = ann.plugin("POST", "/channel/encryption_method?chanID="+dmCas+"&method=none", nil)
	assert.Equal(t, http.StatusOK, r.status, "a system admin may turn it off: %s", r.body)
	assert.Equal(t, "none", cas.methodOf(t, dmCas))
	posts = cas.channelPosts(dmCas)
	assert.True(t, strings.HasPrefix(posts[0].Message, "@"+ann.name+" turned off"), "%q", posts[0].Message)
}

// TestAdminStatsEndpoint: admins only; the figures follow what happens on the server.
func TestAdminStatsEndpoint(t *testing.T) {
	w := setup(t)
	r := w.member.plugin("GET", "/admin/stats", nil)
	assert.Equal(t, http.StatusForbidden, r.status, "%s", r.body)
	r = w.member.plugin("POST", "/admin/stats/recount", nil)
	assert.Equal(t, http.StatusForbidden, r.status, "%s", r.body)

	type stats struct {
		ActiveUsers        int            `json:"active_users"`
		ActiveUsersWithKey int            `json:"active_users_with_key"`
		KeyShare           float64        `json:"key_share"`
		EncryptedChannels  map[string]int `json:"encrypted_channels"`
		EncryptedDirect    int            `json:"encrypted_direct"`
		KeysLast30Days     int            `json:"keys_last_30_days"`
		SyncedDrafts       bool           `json:"synced_drafts"`
	}
	get := func() stats {
		var s stats
		w.admin.mustJSON("GET", "/plugins/"+w.e.pluginID+"/api/v1/admin/stats", nil, http.StatusOK, &s)
		return s
	}
	var recounted stats
	w.admin.mustJSON("POST", "/plugins/"+w.e.pluginID+"/api/v1/admin/stats/recount", nil, http.StatusOK, &recounted)
	before := get()
	assert.Equal(t, recounted, before)
	assert.Positive(t, before.ActiveUsers)

	u := w.e.newUser(t, w.admin, "statsu")
	after := get()
	assert.Equal(t, before.ActiveUsers+1, after.ActiveUsers, "a new active user")
	u.registerFreshKey(t)
	after = get()
	assert.Equal(t, before.ActiveUsersWithKey+1, after.ActiveUsersWithKey)
	assert.Equal(t, before.KeysLast30Days+1, after.KeysLast30Days)
	assert.InDelta(t, float64(after.ActiveUsersWithKey)/float64(after.ActiveUsers), after.KeyShare, 1e-9)

	// Deactivating her leaves her key out of the active users with a key.
	w.admin.mustJSON("DELETE", "/api/v4/users/"+u.userID, nil, http.StatusOK, nil)
	after = get()
	assert.Equal(t, before.ActiveUsersWithKey, after.ActiveUsersWithKey)
	assert.Equal(t, before.ActiveUsers, after.ActiveUsers)

	var cfg struct {
		ServiceSettings struct {
			AllowSyncedDrafts *bool
		}
	}
	w.admin.mustJSON("GET", "/api/v4/config", nil, http.StatusOK, &cfg)
	assert.Equal(t, cfg.ServiceSettings.AllowSyncedDrafts == nil || *cfg.ServiceSettings.AllowSyncedDrafts, after.SyncedDrafts)
}
