//go:build integration

package integration

import (
	"crypto/ecdh"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The original's two plugin ids: released bundles and its development docs. Both are read.
const (
	releasedID = "com.quarkslab.e2ee"
	devID      = "com.quarkslab.mm-e2ee"
)

func freshPubkey(t *testing.T) map[string]string {
	point := func() string {
		k, err := ecdh.P256().GenerateKey(rand.Reader)
		require.NoError(t, err)
		return base64.StdEncoding.EncodeToString(k.PublicKey().Bytes())
	}
	return map[string]string{"sign": point(), "encr": point()}
}

// TestMigrateFromOriginalPlugin writes rows as the original plugin left them in the database,
// runs /e2ee migrate and checks that our API now serves them.
func TestMigrateFromOriginalPlugin(t *testing.T) {
	e := loadEnv(t)
	require.NotEmpty(t, e.dsn, "MM_DSN is not set")
	admin := e.admin(t)
	old := e.newUser(t, admin, "migold")   // had a key and a backup in the original
	moved := e.newUser(t, admin, "migmov") // already pushed a key to us: ours must stay
	broken := e.newUser(t, admin, "migbad")
	var ch struct {
		ID string `json:"id"`
	}
	old.mustJSON("POST", "/api/v4/channels", map[string]string{
		"team_id": e.teamID, "name": randomName("mig-"), "display_name": "Migrated E2EE", "type": "O",
	}, http.StatusCreated, &ch)

	oldKey, oldSigner := freshKey(t)
	movedOrig := freshPubkey(t)
	movedOurs, movedSigner := freshKey(t)
	r := moved.pushKey(movedOurs, movedSigner, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	same := freshPubkey(t)["sign"]
	backup := "-----BEGIN PGP MESSAGE-----\n\nhF4DAAAAAAAAAAASAQdAbm90IGEgcmVhbCBtZXNzYWdlIGJ1dCB3ZWxsIGZvcm1lZA==\n=abcd\n-----END PGP MESSAGE-----\n"
	js := func(v any) []byte { b, _ := json.Marshal(v); return b }
	type row struct{ pluginID, key string }
	rows := map[row][]byte{
		{devID, "pubkey:" + old.userID}:         js(oldKey),
		{devID, "backup_gpg:" + old.userID}:     []byte(backup),
		{devID, "pubkey:" + moved.userID}:       js(movedOrig),
		{releasedID, "pubkey:" + broken.userID}: js(map[string]string{"sign": same, "encr": same}),
		{devID, "backup_gpg:" + broken.userID}:  []byte(backup),
		{releasedID, "chanEncrMeth:" + ch.ID}:   []byte("1"),
		{devID, "chanEncrMeth:" + ch.ID}:        []byte("0"), // the released id's row wins
	}
	db, err := sql.Open("postgres", e.dsn)
	require.NoError(t, err)
	defer db.Close()
	defer func() {
		for k := range rows {
			_, _ = db.Exec(`DELETE FROM pluginkeyvaluestore WHERE pluginid = $1 AND pkey = $2`, k.pluginID, k.key)
		}
	}()
	for k, v := range rows {
		_, err := db.Exec(`INSERT INTO pluginkeyvaluestore (pluginid, pkey, pvalue, expireat) VALUES ($1, $2, $3, 0)`, k.pluginID, k.key, v)
		require.NoError(t, err)
	}

	getKeys := func() map[string]map[string]string {
		var resp struct {
			PubKeys map[string]map[string]string `json:"pubKeys"`
		}
		r := broken.plugin("POST", "/pubkey/get", map[string]any{"userIds": []string{old.userID, moved.userID, broken.userID}})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		r.json(t, &resp)
		return resp.PubKeys
	}
	method := func() string {
		var m struct {
			Method string `json:"method"`
		}
		old.plugin("GET", "/channel/encryption_method?chanID="+ch.ID, nil).json(t, &m)
		return m.Method
	}
	// Before: the original's data is invisible to us.
	require.Nil(t, getKeys()[old.userID])
	require.Equal(t, "none", method())

	assert.Contains(t, old.command(ch.ID, "/e2ee migrate"), "Only a system admin")
	require.Nil(t, getKeys()[old.userID])

	town := townSquare(t, &world{e: e, admin: admin})
	out := admin.command(town, "/e2ee migrate")
	assert.Contains(t, out, "Migration from the original plugin")
	t.Log(out)

	keys := getKeys()
	assert.Equal(t, oldKey, keys[old.userID], "the original's key is served")
	assert.Equal(t, movedOurs, keys[moved.userID], "ours is never overwritten")
	assert.Nil(t, keys[broken.userID], "an invalid key is not copied")
	assert.Equal(t, "p2p", method())
	assert.Contains(t, old.command(ch.ID, "/e2ee show_backup"), "-----BEGIN PGP MESSAGE-----")
	assert.Contains(t, broken.command(town, "/e2ee show_backup"), "No GPG key backup", "no backup without a valid key")

	// A migrated key is in the owner index: no other user can register it, even with its private key.
	r = broken.pushKey(oldKey, oldSigner, nil)
	assert.Equal(t, http.StatusForbidden, r.status, "%s", r.body)
	assert.Contains(t, errorOf(t, r), "registered to another user")

	// The channel is encrypted again: plaintext is refused.
	r = old.createPost(post{ChannelID: ch.ID, Message: "secret plaintext"})
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	assert.Contains(t, string(r.body), "end-to-end encrypted")

	// The run is recorded in our KV; a second run copies nothing more.
	var record []byte
	require.NoError(t, db.QueryRow(`SELECT pvalue FROM pluginkeyvaluestore WHERE pluginid = $1 AND pkey = 'migration:original:v1'`, e.pluginID).Scan(&record))
	var summary struct {
		At int64 `json:"at"`
	}
	require.NoError(t, json.Unmarshal(record, &summary))
	assert.NotZero(t, summary.At)
	again := admin.command(town, "/e2ee migrate")
	assert.Contains(t, again, "public keys: 0 copied")
	assert.Contains(t, again, "channel settings: 0 copied")
	assert.Contains(t, again, "GPG backups: 0 copied")
	assert.Equal(t, oldKey, getKeys()[old.userID])
}
