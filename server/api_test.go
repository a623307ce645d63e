package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mme2ee/mattermost-plugin-e2ee/server/e2eeformat"
)

const armored = "-----BEGIN PGP MESSAGE-----\n\nhF4DAAAAAAAAAAASAQdAbm90IGEgcmVhbCBtZXNzYWdlIGJ1dCB3ZWxsIGZvcm1lZA==\n=abcd\n-----END PGP MESSAGE-----\n"

func call(p *Plugin, userID, method, path, body string) (int, map[string]any) {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if userID != "" {
		req.Header.Set("Mattermost-User-Id", userID)
	}
	w := httptest.NewRecorder()
	p.ServeHTTP(nil, w, req)
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}

func pushBody(t *testing.T, k PublicKey, backup *string) string {
	b, err := json.Marshal(map[string]any{"pubkey": k, "backupGPG": backup})
	require.NoError(t, err)
	if backup == nil {
		b, _ = json.Marshal(map[string]any{"pubkey": k})
	}
	return string(b)
}

// signedPush is a push body for u's key with a proof of possession over a fresh nonce of userID.
func signedPush(t *testing.T, p *Plugin, userID string, u *testUser, backup *string) string {
	code, out := call(p, userID, "GET", "/api/v1/pubkey/nonce", "")
	require.Equal(t, http.StatusOK, code, out)
	nonce, _ := out["nonce"].(string)
	require.NotEmpty(t, nonce)
	m := map[string]any{"pubkey": u.pub, "proof": b64(u.rawSign(t, e2eeformat.PushProofMessage(userID, nonce)))}
	if backup != nil {
		m["backupGPG"] = *backup
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return string(b)
}

// snapshot is the KV without nonces, which a push uses up whatever its outcome.
func snapshot(api *fakeAPI) string {
	api.mu.Lock()
	kv := make(map[string][]byte, len(api.kv))
	for k, v := range api.kv {
		if !strings.HasPrefix(k, kvNoncePrefix) {
			kv[k] = v
		}
	}
	api.mu.Unlock()
	b, _ := json.Marshal(kv)
	return string(b)
}

func TestAPIRequiresSession(t *testing.T) {
	p, _ := newTestPlugin()
	for _, r := range [][2]string{
		{"POST", "/api/v1/pubkey/push"}, {"POST", "/api/v1/pubkey/get"},
		{"GET", "/api/v1/channel/encryption_method?chanID=" + chanID},
		{"POST", "/api/v1/channel/encryption_method?chanID=" + chanID + "&method=p2p"},
		{"GET", "/api/v1/channel/status?chanID=" + chanID}, {"GET", "/api/v1/gpg/key_server"},
	} {
		code, body := call(p, "", r[0], r[1], "{}")
		assert.Equal(t, http.StatusUnauthorized, code, r[1])
		assert.Equal(t, "not authenticated", body["error"])
	}
	code, body := call(p, aliceID, "GET", "/api/v1/nope", "")
	assert.Equal(t, http.StatusNotFound, code)
	assert.NotEmpty(t, body["error"])
	code, _ = call(p, aliceID, "DELETE", "/api/v1/gpg/key_server", "")
	assert.Equal(t, http.StatusMethodNotAllowed, code)
}

func TestPushAndGetPubkey(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	bob := newTestUser(t)
	backup := armored

	code, body := call(p, bobID, "POST", "/api/v1/pubkey/push", signedPush(t, p, bobID, bob, &backup))
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, map[string]any{}, body)
	assert.JSONEq(t, string(bob.pub.Marshal()), string(api.kv[kvPubkeyPrefix+bobID]))
	assert.Equal(t, armored, string(api.kv[kvBackupPrefix+bobID]))
	require.Len(t, api.mails, 1)
	assert.Equal(t, "bob@example.com", api.mails[0].To)
	assert.Contains(t, api.mails[0].Body, "-----BEGIN PGP MESSAGE-----")
	require.Len(t, api.events, 1)
	assert.Equal(t, "newPubkey", api.events[0].Event)
	assert.Equal(t, bobID, api.events[0].Payload["userID"])
	assert.Equal(t, &model.WebsocketBroadcast{}, api.events[0].Broadcast)

	// Same key again without backup: nothing changes, the backup still matches.
	code, _ = call(p, bobID, "POST", "/api/v1/pubkey/push", signedPush(t, p, bobID, bob, nil))
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, api.kv, kvBackupPrefix+bobID)
	assert.Len(t, api.events, 1)

	// A new key without backup: the old backup no longer matches and goes.
	bob2 := newTestUser(t)
	code, _ = call(p, bobID, "POST", "/api/v1/pubkey/push", signedPush(t, p, bobID, bob2, nil))
	require.Equal(t, http.StatusOK, code)
	assert.NotContains(t, api.kv, kvBackupPrefix+bobID)

	code, body = call(p, carolID, "POST", "/api/v1/pubkey/get", fmt.Sprintf(`{"userIds":[%q,%q,%q]}`, aliceID, bobID, carolID))
	require.Equal(t, http.StatusOK, code, body)
	keys := body["pubKeys"].(map[string]any)
	assert.Equal(t, bob2.pub.Sign, keys[bobID].(map[string]any)["sign"])
	assert.NotNil(t, keys[aliceID])
	assert.Nil(t, keys[carolID])
	assert.Contains(t, keys, carolID, "users without a key answer null")
}

func TestPushPubkeyRefusesBadInput(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	good := newTestUser(t).pub
	other := newTestUser(t).pub
	notArmored := "hello, I am plaintext"
	huge := "-----BEGIN PGP MESSAGE-----\n\n" + strings.Repeat("QUFB\n", 9000) + "-----END PGP MESSAGE-----"
	cases := map[string]string{
		"malformed JSON":      `{"pubkey": {"sign": `,
		"unknown field":       `{"pubkey": {"sign": "` + good.Sign + `", "encr": "` + good.Encr + `"}, "text": "x"}`,
		"no key":              `{}`,
		"trailing data":       pushBody(t, good, nil) + `{}`,
		"same point twice":    pushBody(t, PublicKey{Sign: good.Sign, Encr: good.Sign}, nil),
		"not on curve":        pushBody(t, PublicKey{Sign: "BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", Encr: good.Encr}, nil),
		"compressed point":    pushBody(t, PublicKey{Sign: b64(append([]byte{2}, randBytes(32)...)), Encr: good.Encr}, nil),
		"not base64":          pushBody(t, PublicKey{Sign: "!!", Encr: good.Encr}, nil),
		"backup not armored":  pushBody(t, other, &notArmored),
		"backup too large":    pushBody(t, other, &huge),
		"body over 64 KiB":    `{"pubkey": {"sign": "` + strings.Repeat("A", 70000) + `"}}`,
		"wrong type for keys": `{"pubkey": ["a", "b"]}`,
		// encoding/json matches names case-insensitively: these must not pass as "pubkey"/"sign".
		"case variant field":   `{"PubKey": {"sign": "x", "encr": "y"}, ` + pushBody(t, other, nil)[1:],
		"nested case variant":  `{"pubkey": {"Sign": "the launch code", "sign": "` + other.Sign + `", "encr": "` + other.Encr + `"}}`,
		"repeated field":       `{"pubkey": {"sign": "` + good.Sign + `", "encr": "` + good.Encr + `"}, "pubkey": {"sign": "` + other.Sign + `", "encr": "` + other.Encr + `"}}`,
		"trailing close brace": pushBody(t, other, nil) + `}`,
	}
	before := snapshot(api)
	for name, body := range cases {
		code, out := call(p, bobID, "POST", "/api/v1/pubkey/push", body)
		assert.GreaterOrEqual(t, code, 400, name)
		assert.Less(t, code, 500, name)
		assert.NotEmpty(t, out["error"], name)
		assert.Equal(t, before, snapshot(api), "%s must change nothing", name)
	}
	assert.Empty(t, api.mails)
	assert.Empty(t, api.events)

	// Backups are refused when the admin disabled GPG backups.
	p.setConfiguration(&configuration{})
	backup := armored
	code, _ := call(p, bobID, "POST", "/api/v1/pubkey/push", pushBody(t, good, &backup))
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Equal(t, before, snapshot(api))
}

// A key half spelt with a line break (Go's base64 decoder skips it, the web app refuses it) is
// refused, though it is the same key with a valid proof: found by FuzzPublicKey.
func TestPushPubkeyRefusesNonCanonicalBase64(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	u := newTestUser(t)
	u.pub.Sign = u.pub.Sign[:40] + "\n" + u.pub.Sign[40:]
	before := snapshot(api)
	code, out := call(p, bobID, "POST", "/api/v1/pubkey/push", signedPush(t, p, bobID, u, nil))
	assert.Equal(t, http.StatusBadRequest, code, out)
	assert.Contains(t, out["error"], "sign is not a base64 P-256 point")
	assert.Equal(t, before, snapshot(api))
}

func TestPushPubkeyKVFailureChangesNothing(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	push := signedPush(t, p, bobID, newTestUser(t), nil)
	api.kvFail = true
	code, body := call(p, bobID, "POST", "/api/v1/pubkey/push", push)
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Equal(t, "internal error", body["error"])
	assert.Empty(t, api.events)
}

func TestMailFailureKeepsKey(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	api.mailFail = true
	backup := armored
	code, _ := call(p, bobID, "POST", "/api/v1/pubkey/push", signedPush(t, p, bobID, newTestUser(t), &backup))
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, armored, string(api.kv[kvBackupPrefix+bobID]), "still available through /e2ee show_backup")
}

func TestGetPubkeysLimits(t *testing.T) {
	p, _, _ := encryptedSetup(t)
	ids := make([]string, 1001)
	for i := range ids {
		ids[i] = model.NewId()
	}
	b, _ := json.Marshal(map[string]any{"userIds": ids})
	code, _ := call(p, aliceID, "POST", "/api/v1/pubkey/get", string(b))
	assert.Equal(t, http.StatusBadRequest, code)
	b, _ = json.Marshal(map[string]any{"userIds": ids[:1000]})
	code, body := call(p, aliceID, "POST", "/api/v1/pubkey/get", string(b))
	assert.Equal(t, http.StatusOK, code)
	assert.Len(t, body["pubKeys"], 1000)
	for _, bad := range []string{`{"userIds": ["../../etc"]}`, `{"userIds": "x"}`, `{}`, `[]`, `{"userIds": []} x`} {
		code, _ = call(p, aliceID, "POST", "/api/v1/pubkey/get", bad)
		assert.Equal(t, http.StatusBadRequest, code, bad)
	}
}

func TestChannelMethodPermissions(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	api.kv[kvChanMethodPrefix+chanID] = nil
	delete(api.kv, kvChanMethodPrefix+chanID)
	outsider := "outsideroutsideroutsiderou"
	api.addUser(outsider, "mallory", false)
	api.perms[outsider+":"+model.PermissionManagePublicChannelProperties.Id] = true
	q := "/api/v1/channel/encryption_method?chanID=" + chanID

	code, body := call(p, aliceID, "GET", q, "")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "none", body["method"])

	code, _ = call(p, outsider, "GET", q, "")
	assert.Equal(t, http.StatusForbidden, code, "non-members cannot read the mode")
	code, _ = call(p, outsider, "POST", q+"&method=p2p", "")
	assert.Equal(t, http.StatusForbidden, code, "non-members cannot change the mode")

	code, body = call(p, aliceID, "POST", q+"&method=p2p", "")
	assert.Equal(t, http.StatusForbidden, code, "a member without the permission cannot change the mode")
	assert.Contains(t, body["error"], "permission")
	assert.NotContains(t, api.kv, kvChanMethodPrefix+chanID)

	code, _ = call(p, aliceID, "POST", q+"&method=aes", "")
	assert.Equal(t, http.StatusBadRequest, code)
	code, _ = call(p, aliceID, "GET", "/api/v1/channel/encryption_method?chanID=../x", "")
	assert.Equal(t, http.StatusBadRequest, code)

	api.perms[aliceID+":"+model.PermissionManagePublicChannelProperties.Id] = true
	code, body = call(p, aliceID, "POST", q+"&method=p2p", "")
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, "p2p", body["method"])
	assert.Equal(t, "1", string(api.kv[kvChanMethodPrefix+chanID]))
	require.Len(t, api.events, 1)
	assert.Equal(t, "channelStateChanged", api.events[0].Event)
	assert.Equal(t, map[string]any{"chanID": chanID, "method": "p2p"}, api.events[0].Payload)
	assert.Equal(t, chanID, api.events[0].Broadcast.ChannelId)
	require.Len(t, api.posts, 1)
	assert.Equal(t, p.botUserID, api.posts[0].UserId)
	assert.Contains(t, api.posts[0].Message, "@alice turned on")
	assert.Contains(t, api.posts[0].Message, "@bob, @carol")

	// Setting the same mode again announces nothing.
	code, _ = call(p, aliceID, "POST", q+"&method=p2p", "")
	assert.Equal(t, http.StatusOK, code)
	assert.Len(t, api.posts, 1)

	// System admins may change any channel they belong to; private channels use the private permission.
	api.addChannel(otherID, model.ChannelTypePrivate, aliceID, bobID)
	code, _ = call(p, aliceID, "POST", "/api/v1/channel/encryption_method?chanID="+otherID+"&method=p2p", "")
	assert.Equal(t, http.StatusForbidden, code)
	api.admins[bobID] = true
	code, _ = call(p, bobID, "POST", "/api/v1/channel/encryption_method?chanID="+otherID+"&method=p2p", "")
	assert.Equal(t, http.StatusOK, code)

	// In a DM the members decide.
	dm := model.GetDMNameFromIds(aliceID, carolID)[:26]
	api.addChannel(dm, model.ChannelTypeDirect, aliceID, carolID)
	code, _ = call(p, carolID, "POST", "/api/v1/channel/encryption_method?chanID="+dm+"&method=p2p", "")
	assert.Equal(t, http.StatusOK, code)
}

func TestChannelStatus(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	// A channel larger than one page of members, with a bot that never has a key.
	var ids []string
	for i := range 450 {
		id := fmt.Sprintf("member%020d", i)
		api.addUser(id, fmt.Sprintf("m%d", i), false)
		ids = append(ids, id)
		if i%2 == 0 {
			api.kv[kvPubkeyPrefix+id] = newTestUser(t).pub.Marshal()
		}
	}
	ids = append(ids, aliceID, p.botUserID)
	api.addChannel(otherID, model.ChannelTypeOpen, ids...)
	code, body := call(p, aliceID, "GET", "/api/v1/channel/status?chanID="+otherID, "")
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, "none", body["method"])
	assert.Equal(t, false, body["can_change"])
	without := body["members_without_key"].([]any)
	assert.Len(t, without, 225)
	assert.NotContains(t, without, p.botUserID)
	assert.NotContains(t, without, aliceID)

	code, _ = call(p, "strangerstrangerstrangerst", "GET", "/api/v1/channel/status?chanID="+otherID, "")
	assert.Equal(t, http.StatusForbidden, code)
}

func TestKeyServer(t *testing.T) {
	p, _ := newTestPlugin()
	code, body := call(p, aliceID, "GET", "/api/v1/gpg/key_server", "")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "https://keys.openpgp.org", body["url"])
	p.setConfiguration(&configuration{})
	_, body = call(p, aliceID, "GET", "/api/v1/gpg/key_server", "")
	assert.Equal(t, "", body["url"])
}

func TestArmorValidation(t *testing.T) {
	assert.NoError(t, e2eeformat.ValidateArmoredMessage(armored))
	// A real message made by openpgp.js 6 (the web app's GPG backup library).
	real, err := os.ReadFile("testdata/openpgp-message.asc")
	require.NoError(t, err)
	assert.NoError(t, e2eeformat.ValidateArmoredMessage(string(real)))
	assert.NoError(t, e2eeformat.ValidateArmoredMessage(strings.ReplaceAll(string(real), "\n", "\r\n")))
	assert.NoError(t, e2eeformat.ValidateArmoredMessage("-----BEGIN PGP MESSAGE-----\nVersion: X\nComment: y\n\nQUFB\nQUFB\n=ab12\n-----END PGP MESSAGE-----"))
	for _, bad := range []string{
		"", "QUFB", "-----BEGIN PGP MESSAGE-----\n-----END PGP MESSAGE-----",
		"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nQUFB\n-----END PGP PUBLIC KEY BLOCK-----",
		"-----BEGIN PGP MESSAGE-----\n\nhello world\n-----END PGP MESSAGE-----",
		"-----BEGIN PGP MESSAGE-----\nVersion: X\nQUFB\n-----END PGP MESSAGE-----",
		"<b>-----BEGIN PGP MESSAGE-----\n\nQUFB\n-----END PGP MESSAGE-----",
	} {
		assert.Error(t, e2eeformat.ValidateArmoredMessage(bad), bad)
	}
}

func TestGetPubkeysCorruptStoredKeyIsNull(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	api.kv[kvPubkeyPrefix+bobID] = []byte(`{"sign": "garbage"}`)
	code, body := call(p, carolID, "POST", "/api/v1/pubkey/get", fmt.Sprintf(`{"userIds":[%q,%q,%q]}`, aliceID, bobID, aliceID))
	require.Equal(t, http.StatusOK, code, body)
	keys := body["pubKeys"].(map[string]any)
	assert.Len(t, keys, 2)
	assert.NotNil(t, keys[aliceID])
	assert.Nil(t, keys[bobID])

	api.kvFail = true
	code, body = call(p, carolID, "POST", "/api/v1/pubkey/get", fmt.Sprintf(`{"userIds":[%q]}`, aliceID))
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Equal(t, "internal error", body["error"])
}
