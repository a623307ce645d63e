//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const placeholder = "Encrypted message"

// vectorFile holds the original plugin's users and messages (testdata/ at the repository root).
type vectorFile struct {
	Users []struct {
		Name   string            `json:"name"`
		Pubkey map[string]string `json:"pubkey"`
		Backup string            `json:"backup"`
	} `json:"users"`
	Messages []struct {
		Sender string         `json:"sender"`
		E2EE   map[string]any `json:"e2ee"`
		Expect string         `json:"expect"`
		Why    string         `json:"why"`
	} `json:"messages"`
}

func loadVectors(t *testing.T) *vectorFile {
	raw, err := os.ReadFile("../../testdata/p2p-v1.json")
	require.NoError(t, err)
	var v vectorFile
	require.NoError(t, json.Unmarshal(raw, &v))
	return &v
}

func (v *vectorFile) pubkey(name string) map[string]string {
	for _, u := range v.Users {
		if u.Name == name {
			return u.Pubkey
		}
	}
	panic("no vector user " + name)
}

// world is a fresh set of users and a channel for one run, so that runs (and the browser
// suite, which uses alice/bob/carol) do not disturb each other.
type world struct {
	e                      *env
	admin                  *client
	owner, member, outside *client
	channelID              string
}

var (
	worldOnce sync.Once
	shared    *world
)

func (e *env) newUser(t *testing.T, admin *client, prefix string) *client {
	name := randomName(prefix)
	var u struct {
		ID string `json:"id"`
	}
	admin.mustJSON("POST", "/api/v4/users", map[string]any{
		"username": name, "email": name + "@example.com", "password": e.password,
	}, http.StatusCreated, &u)
	admin.mustJSON("POST", "/api/v4/teams/"+e.teamID+"/members", map[string]string{"team_id": e.teamID, "user_id": u.ID}, http.StatusCreated, nil)
	return e.login(t, name)
}

func setup(t *testing.T) *world {
	worldOnce.Do(func() {
		e := loadEnv(t)
		w := &world{e: e, admin: e.admin(t)}
		w.owner = e.newUser(t, w.admin, "itowner")
		w.member = e.newUser(t, w.admin, "itmember")
		w.outside = e.newUser(t, w.admin, "itoutside")
		var ch struct {
			ID string `json:"id"`
		}
		w.owner.mustJSON("POST", "/api/v4/channels", map[string]string{
			"team_id": e.teamID, "name": randomName("it-"), "display_name": "Integration E2EE", "type": "O",
		}, http.StatusCreated, &ch)
		w.channelID = ch.ID
		w.owner.mustJSON("POST", "/api/v4/channels/"+ch.ID+"/members", map[string]string{"user_id": w.member.userID}, http.StatusCreated, nil)
		// The owner registers alice's vector key: earlier runs' owners did too.
		forgetKeyOwners(t, e, loadVectors(t).pubkey("alice"))
		shared = w
	})
	require.NotNil(t, shared, "setup failed in an earlier test")
	shared.owner.t, shared.member.t, shared.outside.t, shared.admin.t = t, t, t, t
	return shared
}

func (w *world) method(t *testing.T) string {
	var m struct {
		Method string `json:"method"`
	}
	r := w.owner.plugin("GET", "/channel/encryption_method?chanID="+w.channelID, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r.json(t, &m)
	return m.Method
}

func (w *world) setMethod(t *testing.T, method string) {
	r := w.owner.plugin("POST", "/channel/encryption_method?chanID="+w.channelID+"&method="+method, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
}

func TestUnauthenticatedRefused(t *testing.T) {
	w := setup(t)
	anon := &client{t: t, e: w.e}
	for _, path := range []string{"/gpg/key_server", "/channel/status?chanID=" + w.channelID} {
		r := anon.plugin("GET", path, nil)
		assert.Equal(t, http.StatusUnauthorized, r.status, path)
		errorOf(t, r)
	}
	// A forged identity header is stripped by the server.
	r := anon.raw("GET", "/plugins/"+w.e.pluginID+"/api/v1/gpg/key_server", nil, "")
	assert.Equal(t, http.StatusUnauthorized, r.status)
	req, _ := http.NewRequest("POST", w.e.site+"/plugins/"+w.e.pluginID+"/api/v1/pubkey/get", strings.NewReader(`{"userIds":[]}`))
	req.Header.Set("Mattermost-User-Id", w.owner.userID)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

func TestKeysAndGPGBackupMail(t *testing.T) {
	w := setup(t)
	v := loadVectors(t)
	key := v.pubkey("alice")

	// Malformed and oversized bodies change nothing.
	for name, body := range map[string]string{
		"malformed":     `{"pubkey": {"sign": "`,
		"unknown field": `{"pubkey": {"sign": "` + key["sign"] + `", "encr": "` + key["encr"] + `"}, "plaintext": "x"}`,
		"bad point":     `{"pubkey": {"sign": "BAAA", "encr": "` + key["encr"] + `"}}`,
		"oversized":     `{"pubkey": {"sign": "` + strings.Repeat("A", 80*1024) + `"}}`,
	} {
		r := w.owner.plugin("POST", "/pubkey/push", body)
		assert.True(t, r.status == 400 || r.status == 413, "%s: %d %s", name, r.status, r.body)
		errorOf(t, r)
	}
	var got struct {
		PubKeys map[string]map[string]string `json:"pubKeys"`
	}
	r := w.member.plugin("POST", "/pubkey/get", map[string]any{"userIds": []string{w.owner.userID}})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r.json(t, &got)
	require.Contains(t, got.PubKeys, w.owner.userID)
	assert.Nil(t, got.PubKeys[w.owner.userID], "nothing was stored by the refused pushes")

	// Enable GPG backups for this test, as an admin would in the System Console.
	previous := w.pluginSetting(t, "gpgkeyserver")
	w.setPluginSetting(t, "gpgkeyserver", "hkp://127.0.0.1:11371")
	defer w.setPluginSetting(t, "gpgkeyserver", previous)
	eventually(t, 15*time.Second, func() bool {
		var ks struct {
			URL string `json:"url"`
		}
		w.owner.plugin("GET", "/gpg/key_server", nil).json(t, &ks)
		return ks.URL == "hkp://127.0.0.1:11371"
	}, "the key server setting did not reach the plugin")

	notArmored := "my private key in clear"
	r = w.owner.pushKey(key, v.signer(t, "alice"), map[string]any{"backupGPG": notArmored})
	assert.Equal(t, http.StatusBadRequest, r.status)

	marker := randomName("")
	armored := "-----BEGIN PGP MESSAGE-----\n\nhF4D" + strings.ToUpper(marker) + "AAAAAAAA\n=abcd\n-----END PGP MESSAGE-----\n"
	r = w.owner.pushKey(key, v.signer(t, "alice"), map[string]any{"backupGPG": armored})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.JSONEq(t, `{}`, string(r.body))

	r = w.member.plugin("POST", "/pubkey/get", map[string]any{"userIds": []string{w.owner.userID, w.member.userID}})
	r.json(t, &got)
	assert.Equal(t, key, got.PubKeys[w.owner.userID])
	assert.Nil(t, got.PubKeys[w.member.userID])

	// The mail reaches the user's mailbox with the armored message.
	if w.e.mailsink == "" {
		t.Fatal("MAILSINK_URL is not set")
	}
	mailbox := w.e.mailsink + "/api/v1/mailbox/" + w.owner.name
	eventually(t, 20*time.Second, func() bool {
		resp, err := http.Get(mailbox)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var list []struct {
			ID      string `json:"id"`
			Subject string `json:"subject"`
		}
		if json.NewDecoder(resp.Body).Decode(&list) != nil {
			return false
		}
		for _, m := range list {
			if !strings.Contains(m.Subject, "E2EE key backup") {
				continue
			}
			msg, err := http.Get(mailbox + "/" + m.ID)
			if err != nil {
				return false
			}
			var full struct {
				Body struct {
					HTML string `json:"html"`
					Text string `json:"text"`
				} `json:"body"`
			}
			_ = json.NewDecoder(msg.Body).Decode(&full)
			msg.Body.Close()
			return strings.Contains(full.Body.HTML+full.Body.Text, strings.ToUpper(marker))
		}
		return false
	}, "no backup mail with the armored message in %s", mailbox)

	// /e2ee show_backup returns it to its owner only.
	assert.Contains(t, w.owner.command(w.channelID, "/e2ee show_backup"), strings.ToUpper(marker))
	assert.NotContains(t, w.member.command(w.channelID, "/e2ee show_backup"), strings.ToUpper(marker))

	// KV layout compatible with the original plugin, read from the database.
	w.checkKV(t, "pubkey:"+w.owner.userID, func(v []byte) {
		var k map[string]string
		require.NoError(t, json.Unmarshal(v, &k))
		assert.Equal(t, key, k)
	})
	w.checkKV(t, "backup_gpg:"+w.owner.userID, func(v []byte) { assert.Contains(t, string(v), "BEGIN PGP MESSAGE") })
}

func (w *world) pluginSetting(t *testing.T, key string) any {
	var cfg struct {
		PluginSettings struct {
			Plugins map[string]map[string]any
		}
	}
	w.admin.mustJSON("GET", "/api/v4/config", nil, http.StatusOK, &cfg)
	if v, ok := cfg.PluginSettings.Plugins[w.e.pluginID][key]; ok {
		return v
	}
	return ""
}

func (w *world) setPluginSetting(t *testing.T, key string, value any) {
	patch := map[string]any{"PluginSettings": map[string]any{"Plugins": map[string]any{w.e.pluginID: map[string]any{key: value}}}}
	w.admin.mustJSON("PUT", "/api/v4/config/patch", patch, http.StatusOK, nil)
}

func TestChannelModePermissions(t *testing.T) {
	w := setup(t)
	q := "/channel/encryption_method?chanID=" + w.channelID
	r := w.outside.plugin("GET", q, nil)
	assert.Equal(t, http.StatusForbidden, r.status, "a non-member reads the mode: %s", r.body)
	errorOf(t, r)
	r = w.outside.plugin("POST", q+"&method=p2p", nil)
	assert.Equal(t, http.StatusForbidden, r.status, "a non-member changes the mode: %s", r.body)
	r = w.outside.plugin("GET", "/channel/status?chanID="+w.channelID, nil)
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.Contains(t, w.outside.command(townSquare(t, w), "/e2ee help"), "/e2ee start")

	r = w.owner.plugin("POST", q+"&method=aes", nil)
	assert.Equal(t, http.StatusBadRequest, r.status)
	r = w.owner.plugin("GET", "/channel/encryption_method?chanID=nope", nil)
	assert.Equal(t, http.StatusBadRequest, r.status)
	r = w.owner.plugin("DELETE", q, nil)
	assert.Equal(t, http.StatusMethodNotAllowed, r.status)
}

func townSquare(t *testing.T, w *world) string {
	var ch struct {
		ID string `json:"id"`
	}
	w.admin.mustJSON("GET", "/api/v4/teams/"+w.e.teamID+"/channels/name/town-square", nil, http.StatusOK, &ch)
	return ch.ID
}

// TestEncryptedChannel is the enforcement path, in order: turn on, refuse everything but
// valid ciphertext, accept a genuine message, refuse edits into plaintext and uploads.
func TestEncryptedChannel(t *testing.T) {
	w := setup(t)
	v := loadVectors(t)
	alice := v.pubkey("alice")
	r := w.owner.pushKey(alice, v.signer(t, "alice"), nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)

	// Plaintext before encryption: allowed, and it stays as it was.
	r = w.member.createPost(post{ChannelID: w.channelID, Message: "before encryption"})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	var before post
	r.json(t, &before)

	w.setMethod(t, "p2p")
	defer w.setMethod(t, "none")
	assert.Equal(t, "p2p", w.method(t))

	// The bot announced it, naming who did it and who has no key.
	posts := w.owner.channelPosts(w.channelID)
	require.NotEmpty(t, posts)
	assert.Contains(t, posts[0].Message, "@"+w.owner.name+" turned on")
	assert.Contains(t, posts[0].Message, "@"+w.member.name)

	var status struct {
		Method            string   `json:"method"`
		MembersWithoutKey []string `json:"members_without_key"`
		CanChange         bool     `json:"can_change"`
	}
	w.member.plugin("GET", "/channel/status?chanID="+w.channelID, nil).json(t, &status)
	assert.Equal(t, "p2p", status.Method)
	assert.Equal(t, []string{w.member.userID}, status.MembersWithoutKey)
	assert.True(t, status.CanChange, "channel members may manage a public channel's properties by default")
	assert.Contains(t, w.member.command(w.channelID, "/e2ee status"), "is on")

	good := v.Messages[0]
	require.Equal(t, "alice", good.Sender)
	bobs := v.Messages[1]
	require.Equal(t, "bob", bobs.Sender)
	withExtra := map[string]any{}
	for k, val := range good.E2EE {
		withExtra[k] = val
	}
	withExtra["plaintext"] = "secret"

	refused := map[string]post{
		"plaintext":            {Message: "secret plaintext"},
		"custom_e2ee no e2ee":  {Type: "custom_e2ee", Message: placeholder},
		"malformed props":      {Type: "custom_e2ee", Message: placeholder, Props: map[string]any{"e2ee": map[string]any{"version": 1, "iv": "AAAA"}}},
		"e2ee a string":        {Type: "custom_e2ee", Message: placeholder, Props: map[string]any{"e2ee": "secret"}},
		"forged signature":     {Type: "custom_e2ee", Message: placeholder, Props: map[string]any{"e2ee": bobs.E2EE}},
		"plaintext in message": {Type: "custom_e2ee", Message: "secret plaintext", Props: map[string]any{"e2ee": good.E2EE}},
		"extra e2ee field":     {Type: "custom_e2ee", Message: placeholder, Props: map[string]any{"e2ee": withExtra}},
		"attachment prop": {Type: "custom_e2ee", Message: placeholder, Props: map[string]any{"e2ee": good.E2EE,
			"attachments": []any{map[string]any{"text": "secret"}}}},
		"other custom type":             {Type: "custom_poll", Message: "secret"},
		"disguised as a system message": {Type: "system_join_channel", Message: "secret"},
		"disguised as ephemeral":        {Type: "system_ephemeral", Message: "secret"},
	}
	for name, p := range refused {
		p.ChannelID = w.channelID
		r := w.owner.createPost(p)
		assert.Equal(t, http.StatusBadRequest, r.status, "%s: %s", name, r.body)
		if !strings.HasPrefix(p.Type, "system_") { // those the server itself refuses from users
			assert.Contains(t, string(r.body), "end-to-end encrypted", name)
		}
	}
	// The member has no key: even a well-formed message cannot be theirs.
	r = w.member.createPost(post{ChannelID: w.channelID, Type: "custom_e2ee", Message: placeholder, Props: map[string]any{"e2ee": good.E2EE}})
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)

	for _, p := range w.owner.channelPosts(w.channelID) {
		assert.NotContains(t, p.Message, "secret", "a refused post was stored")
	}

	// The genuine v1 message of the original plugin is accepted and stored as sent.
	r = w.owner.createPost(post{ChannelID: w.channelID, Type: "custom_e2ee", Message: placeholder, Props: map[string]any{"e2ee": good.E2EE}})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	var created post
	r.json(t, &created)
	assert.Equal(t, good.E2EE["signature"], created.Props["e2ee"].(map[string]any)["signature"])

	// Edits into plaintext are refused, for the encrypted post and the older plaintext one.
	edit := map[string]any{"id": created.ID, "channel_id": w.channelID, "message": "secret edit", "type": "", "props": map[string]any{}}
	r = w.owner.do("PUT", "/api/v4/posts/"+created.ID, edit)
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	assert.Contains(t, string(r.body), "end-to-end encrypted", "refused by the plugin")
	r = w.owner.do("PUT", "/api/v4/posts/"+created.ID+"/patch", map[string]any{"message": "secret patch"})
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	r = w.member.do("PUT", "/api/v4/posts/"+before.ID+"/patch", map[string]any{"message": "secret after encryption"})
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	var stored post
	w.owner.mustJSON("GET", "/api/v4/posts/"+created.ID, nil, http.StatusOK, &stored)
	assert.Equal(t, placeholder, stored.Message)
	w.owner.mustJSON("GET", "/api/v4/posts/"+before.ID, nil, http.StatusOK, &stored)
	assert.Equal(t, "before encryption", stored.Message)

	// The refusal reached the author as an ephemeral bot message too (checked on the unit level);
	// here: uploads are refused.
	r = w.owner.upload(w.channelID, "secret.txt", []byte("secret file"))
	assert.GreaterOrEqual(t, r.status, 400, "upload into an encrypted channel: %d %s", r.status, r.body)
	assert.Contains(t, string(r.body), "end-to-end encrypted", "refused by the plugin")

	w.checkKV(t, "chanEncrMeth:"+w.channelID, func(v []byte) { assert.Equal(t, "1", string(v)) })

	// Turned off: plaintext flows again, and the encrypted post still cannot become plaintext.
	w.setMethod(t, "none")
	r = w.member.createPost(post{ChannelID: w.channelID, Message: "plain again"})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	var plainAgain post
	r.json(t, &plainAgain)
	r = w.member.do("PUT", "/api/v4/posts/"+plainAgain.ID+"/patch", map[string]any{"message": "plain edit"})
	assert.Equal(t, http.StatusOK, r.status, "plaintext edits in a plaintext channel pass: %s", r.body)
	r = w.owner.do("PUT", "/api/v4/posts/"+created.ID+"/patch", map[string]any{"message": "secret later"})
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	r = w.owner.upload(w.channelID, "ok.txt", []byte("fine"))
	assert.Less(t, r.status, 300, "%s", r.body)
}

func TestGet1000Keys(t *testing.T) {
	w := setup(t)
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprintf("%026d", i)
	}
	ids[0] = w.owner.userID
	start := time.Now()
	r := w.member.plugin("POST", "/pubkey/get", map[string]any{"userIds": ids})
	elapsed := time.Since(start)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var got struct {
		PubKeys map[string]any `json:"pubKeys"`
	}
	r.json(t, &got)
	assert.Len(t, got.PubKeys, 1000)
	t.Logf("POST /pubkey/get with 1000 user IDs on the real server: %v", elapsed)
	r = w.member.plugin("POST", "/pubkey/get", map[string]any{"userIds": append(ids, "x")})
	assert.Equal(t, http.StatusBadRequest, r.status)
}
