package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	daveID   = "davedavedavedavedavedavedd"
	chan2ID  = "chan2chan2chan2chan2chan2c"
	chan3ID  = "chan3chan3chan3chan3chan3c"
	adminID  = "adminadminadminadminadmina"
	badUser  = "not-an-id"
	nowMilli = int64(1_700_000_000_000)
)

// originalData is a typical original-plugin KV: valid rows plus every kind of bad one.
func originalData(t *testing.T, alice, bob, carol *testUser) []originalRow {
	pk := func(u *testUser) []byte { return u.pub.Marshal() }
	sameHalves := PublicKey{Sign: alice.pub.Sign, Encr: alice.pub.Sign}
	return []originalRow{
		// Backup listed before its key: the order of the database must not matter.
		{Key: kvBackupPrefix + aliceID, Value: []byte(armored)},
		{Key: kvPubkeyPrefix + aliceID, Value: []byte(` {"encr":"` + alice.pub.Encr + `","sign":"` + alice.pub.Sign + `"} `)},
		{Key: kvPubkeyPrefix + bobID, Value: pk(bob)},
		{Key: kvPubkeyPrefix + carolID, Value: pk(carol)},
		{Key: kvPubkeyPrefix + daveID, Value: []byte(`{"sign":"AAAA","encr":"BBBB"}`)},
		{Key: kvPubkeyPrefix + otherID, Value: sameHalves.Marshal()},
		{Key: kvPubkeyPrefix + badUser, Value: pk(bob)},
		{Key: kvPubkeyPrefix + chan3ID, Value: []byte(`not json`)},
		{Key: kvChanMethodPrefix + chanID, Value: []byte("1")},
		{Key: kvChanMethodPrefix + chan2ID, Value: []byte("0")},
		{Key: kvChanMethodPrefix + chan3ID, Value: []byte("2")},
		{Key: kvChanMethodPrefix + otherID, Value: []byte(`"p2p"`)},
		{Key: kvChanMethodPrefix + badUser, Value: []byte("1")},
		{Key: kvBackupPrefix + bobID, Value: []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----")},
		{Key: kvBackupPrefix + carolID, Value: []byte(armored)}, // carol has her own key here
		{Key: kvBackupPrefix + daveID, Value: []byte(armored)},  // dave's original key is invalid
		{Key: kvBackupPrefix + otherID, Value: []byte(strings.Replace(armored, "\n\n", "\n\n"+strings.Repeat("QUFB\n", 10000), 1))},
		{Key: "somethingElse", Value: []byte("x")},
		{Key: kvPubkeyPrefix + bobID + "x", Value: pk(bob), ExpireAt: nowMilli - 1},
	}
}

func TestMigrateOriginalCopiesValidRowsOnly(t *testing.T) {
	p, api := newTestPlugin()
	alice, bob, carol := newTestUser(t), newTestUser(t), newTestUser(t)
	carolHere := newTestUser(t)
	api.kv[kvPubkeyPrefix+carolID] = carolHere.pub.Marshal()
	api.kv[kvChanMethodPrefix+chan2ID] = []byte("1") // ours says encrypted: stays

	s := p.migrateOriginal(originalData(t, alice, bob, carol), nowMilli)

	assert.Equal(t, migrationCounts{Copied: 2, Kept: 1, Invalid: 4}, s.Pubkeys)
	assert.Equal(t, migrationCounts{Copied: 1, Kept: 1, Invalid: 3}, s.Channels)
	assert.Equal(t, migrationCounts{Copied: 1, Invalid: 2, Stale: 2}, s.Backups)
	assert.Equal(t, 2, s.Ignored)
	assert.Zero(t, s.Failed)

	// Keys are stored re-encoded, as our own pushes store them.
	assert.Equal(t, string(alice.pub.Marshal()), string(api.kv[kvPubkeyPrefix+aliceID]))
	assert.Equal(t, string(bob.pub.Marshal()), string(api.kv[kvPubkeyPrefix+bobID]))
	assert.Equal(t, string(carolHere.pub.Marshal()), string(api.kv[kvPubkeyPrefix+carolID]), "never overwrite")
	assert.Equal(t, "1", string(api.kv[kvChanMethodPrefix+chanID]))
	assert.Equal(t, "1", string(api.kv[kvChanMethodPrefix+chan2ID]), "never overwrite")
	assert.Equal(t, armored, string(api.kv[kvBackupPrefix+aliceID]))
	for _, k := range []string{
		kvPubkeyPrefix + daveID, kvPubkeyPrefix + otherID, kvPubkeyPrefix + badUser, kvPubkeyPrefix + chan3ID,
		kvPubkeyPrefix + bobID + "x", kvChanMethodPrefix + chan3ID, kvChanMethodPrefix + otherID,
		kvChanMethodPrefix + badUser, kvBackupPrefix + bobID, kvBackupPrefix + carolID, kvBackupPrefix + daveID,
		kvBackupPrefix + otherID, "somethingElse",
	} {
		assert.NotContains(t, api.kv, k)
	}

	// The read API answers the migrated key.
	keys, err := p.store().getPubkeys([]string{aliceID, daveID})
	require.NoError(t, err)
	assert.Equal(t, &alice.pub, keys[aliceID])
	assert.Nil(t, keys[daveID])
}

func TestRunOriginalMigrationOnceAndOnDemand(t *testing.T) {
	p, api := newTestPlugin()
	alice, bob, carol := newTestUser(t), newTestUser(t), newTestUser(t)
	reads := 0
	p.originalRows = func() ([]originalRow, error) {
		reads++
		return originalData(t, alice, bob, carol), nil
	}

	s, ran, err := p.runOriginalMigration(false)
	require.NoError(t, err)
	require.True(t, ran)
	assert.Equal(t, 3, s.Pubkeys.Copied)
	var record migrationSummary
	require.NoError(t, json.Unmarshal(api.kv[kvMigrationDone], &record))
	assert.Equal(t, s.Pubkeys, record.Pubkeys)
	assert.Equal(t, s.Channels, record.Channels)
	assert.NotZero(t, record.At)
	require.Len(t, api.logs, 1)
	assert.Contains(t, api.logs[0], "INFO E2EE: migration from the original plugin (com.quarkslab.e2ee / com.quarkslab.mm-e2ee): public keys: 3 copied")
	assert.NotContains(t, api.logs[0], alice.pub.Sign, "no key material in the log")

	// Recorded: activation does not read the database again.
	snapshot := map[string]string{}
	for k, v := range api.kv {
		snapshot[k] = string(v)
	}
	_, ran, err = p.runOriginalMigration(false)
	require.NoError(t, err)
	assert.False(t, ran)
	assert.Equal(t, 1, reads)

	// On demand it runs, and changes nothing but the record: everything is there already.
	s, ran, err = p.runOriginalMigration(true)
	require.NoError(t, err)
	assert.True(t, ran)
	assert.Equal(t, 2, reads)
	assert.Zero(t, s.Pubkeys.Copied+s.Channels.Copied+s.Backups.Copied)
	assert.Equal(t, 3, s.Pubkeys.Kept)
	assert.Equal(t, 2, s.Channels.Kept)
	assert.Equal(t, 2, s.Backups.Kept, "alice's and carol's")
	for k, v := range api.kv {
		if k != kvMigrationDone {
			assert.Equal(t, snapshot[k], string(v), k)
		}
	}
}

func TestRunOriginalMigrationFailures(t *testing.T) {
	p, api := newTestPlugin()
	p.originalRows = func() ([]originalRow, error) { return nil, errors.New("db down") }
	_, ran, err := p.runOriginalMigration(false)
	require.Error(t, err)
	assert.False(t, ran)
	assert.NotContains(t, api.kv, kvMigrationDone, "not recorded: retried next time")

	// KV errors while copying: counted, not recorded.
	alice := newTestUser(t)
	p.originalRows = func() ([]originalRow, error) {
		api.kvFail = true
		return []originalRow{{Key: kvPubkeyPrefix + aliceID, Value: alice.pub.Marshal()}}, nil
	}
	s, ran, err := p.runOriginalMigration(true)
	require.NoError(t, err)
	assert.True(t, ran)
	assert.Equal(t, 1, s.Failed)
	api.kvFail = false
	assert.Empty(t, api.kv, "nothing written, no record: the next activation retries")
}

// racingAPI lets a user push a new key right after the migration copied a backup.
type racingAPI struct {
	*fakeAPI
	newKey []byte
}

func (r *racingAPI) KVCompareAndSet(key string, old, value []byte) (bool, *model.AppError) {
	ok, err := r.fakeAPI.KVCompareAndSet(key, old, value)
	if ok && strings.HasPrefix(key, kvBackupPrefix) && value != nil && r.newKey != nil {
		r.fakeAPI.kv[kvPubkeyPrefix+aliceID] = r.newKey
		delete(r.fakeAPI.kv, kvBackupPrefix+aliceID) // what pushPubkey does
		r.newKey = nil
	}
	return ok, err
}

func TestMigrateBackupUndoneWhenKeyChangedMeanwhile(t *testing.T) {
	p, api := newTestPlugin()
	alice, newer := newTestUser(t), newTestUser(t)
	racing := &racingAPI{fakeAPI: api, newKey: newer.pub.Marshal()}
	p.SetAPI(racing)
	s := p.migrateOriginal([]originalRow{
		{Key: kvPubkeyPrefix + aliceID, Value: alice.pub.Marshal()},
		{Key: kvBackupPrefix + aliceID, Value: []byte(armored)},
	}, nowMilli)
	assert.Equal(t, migrationCounts{Stale: 1}, s.Backups)
	assert.NotContains(t, api.kv, kvBackupPrefix+aliceID)
	assert.Equal(t, string(newer.pub.Marshal()), string(api.kv[kvPubkeyPrefix+aliceID]))
}

func TestMigrateCommand(t *testing.T) {
	p, api := newTestPlugin()
	alice := newTestUser(t)
	p.originalRows = func() ([]originalRow, error) {
		return []originalRow{
			{Key: kvPubkeyPrefix + aliceID, Value: alice.pub.Marshal()},
			{Key: kvChanMethodPrefix + chanID, Value: []byte("1")},
		}, nil
	}
	assert.Contains(t, run(p, bobID, "/e2ee migrate"), "Only a system admin")
	assert.Empty(t, api.kv)

	api.admins[adminID] = true
	out := run(p, adminID, "/e2ee migrate")
	assert.Contains(t, out, "public keys: 1 copied, 0 kept, 0 invalid; channel settings: 1 copied")
	assert.Equal(t, "1", string(api.kv[kvChanMethodPrefix+chanID]))
	assert.Contains(t, run(p, adminID, "/e2ee migrate"), "public keys: 0 copied, 1 kept")

	p.originalRows = func() ([]originalRow, error) { return nil, errors.New("db down") }
	assert.Contains(t, run(p, adminID, "/e2ee migrate"), "failed")
	assert.Contains(t, helpText(), "/e2ee migrate")
}

// fakeDB is a minimal database/sql driver: it records the query and answers fixed rows.
type fakeDB struct {
	query string
	args  []driver.Value
	rows  [][]driver.Value
}

func (d *fakeDB) Connect(context.Context) (driver.Conn, error) { return fakeConn{d}, nil }
func (d *fakeDB) Driver() driver.Driver                        { return nil }

type fakeConn struct{ d *fakeDB }

func (c fakeConn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("not supported") }
func (c fakeConn) Close() error                        { return nil }
func (c fakeConn) Begin() (driver.Tx, error)           { return nil, errors.New("not supported") }
func (c fakeConn) Query(q string, args []driver.Value) (driver.Rows, error) {
	c.d.query, c.d.args = q, args
	return &fakeRows{rows: c.d.rows}, nil
}

type fakeRows struct {
	rows [][]driver.Value
	i    int
}

func (r *fakeRows) Columns() []string { return []string{"pluginid", "pkey", "pvalue", "expireat"} }
func (r *fakeRows) Close() error      { return nil }
func (r *fakeRows) Next(dest []driver.Value) error {
	if r.i >= len(r.rows) {
		return io.EOF
	}
	copy(dest, r.rows[r.i])
	r.i++
	return nil
}

func TestQueryOriginalRows(t *testing.T) {
	for _, tc := range []struct{ driver, placeholders string }{{"postgres", "$1, $2"}, {"mysql", "?, ?"}} {
		d := &fakeDB{rows: [][]driver.Value{
			{"com.quarkslab.e2ee", "pubkey:x", []byte("v1"), int64(0)},
			{"com.quarkslab.mm-e2ee", "chanEncrMeth:y", []byte("1"), nil},
			{"com.quarkslab.e2ee", "backup_gpg:z", []byte("b"), int64(42)},
		}}
		db := sql.OpenDB(d)
		rows, err := queryOriginalRows(db, tc.driver)
		require.NoError(t, err)
		assert.Equal(t, "SELECT PluginId, PKey, PValue, ExpireAt FROM PluginKeyValueStore WHERE PluginId IN ("+tc.placeholders+")", d.query)
		assert.Equal(t, []driver.Value{"com.quarkslab.e2ee", "com.quarkslab.mm-e2ee"}, d.args, "the plugin ids are parameters, not spliced in")
		assert.Equal(t, []originalRow{
			{PluginID: "com.quarkslab.e2ee", Key: "pubkey:x", Value: []byte("v1")},
			{PluginID: "com.quarkslab.mm-e2ee", Key: "chanEncrMeth:y", Value: []byte("1")},
			{PluginID: "com.quarkslab.e2ee", Key: "backup_gpg:z", Value: []byte("b"), ExpireAt: 42},
		}, rows)
		require.NoError(t, db.Close())
	}
}

// Both of the original's ids hold a key for alice: the released id's row wins, whatever the order.
func TestMigrateOriginalPrefersReleasedPluginID(t *testing.T) {
	released, dev := newTestUser(t), newTestUser(t)
	for _, order := range [][]string{{"com.quarkslab.mm-e2ee", "com.quarkslab.e2ee"}, {"com.quarkslab.e2ee", "com.quarkslab.mm-e2ee"}} {
		p, api := newTestPlugin()
		keys := map[string]*testUser{"com.quarkslab.e2ee": released, "com.quarkslab.mm-e2ee": dev}
		backups := map[string]string{"com.quarkslab.e2ee": armored, "com.quarkslab.mm-e2ee": strings.Replace(armored, "\n\n", "\n\nQUFB\n", 1)}
		var rows []originalRow
		for _, id := range order {
			// Backups first: each must still be matched with its own plugin's key.
			rows = append(rows, originalRow{PluginID: id, Key: kvBackupPrefix + aliceID, Value: []byte(backups[id])})
		}
		for _, id := range order {
			rows = append(rows, originalRow{PluginID: id, Key: kvPubkeyPrefix + aliceID, Value: keys[id].pub.Marshal()})
		}
		s := p.migrateOriginal(rows, nowMilli)
		assert.Equal(t, migrationCounts{Copied: 1, Kept: 1}, s.Pubkeys)
		assert.Equal(t, string(released.pub.Marshal()), string(api.kv[kvPubkeyPrefix+aliceID]))
		assert.Equal(t, 1, s.Backups.Copied, "the released plugin's backup goes with its key")
		assert.Equal(t, backups["com.quarkslab.e2ee"], string(api.kv[kvBackupPrefix+aliceID]))
	}
}
