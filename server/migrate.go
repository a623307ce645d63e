package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/pluginapi"

	"github.com/mme2ee/mattermost-plugin-e2ee/server/e2eeformat"
)

// Migration from the original plugin: its KV rows are stored under its own plugin id, which
// our KV API cannot read, so they are read from the database. Our own data always wins.
//
// The original's plugin.json (0.6.1, 0.7.0) says com.quarkslab.e2ee; its development docs
// (and our protocol notes) say com.quarkslab.mm-e2ee. Both are read; where both hold the
// same key, the released id's row wins.
var originalPluginIDs = []string{"com.quarkslab.e2ee", "com.quarkslab.mm-e2ee"}

// originalName names the source in logs and command answers.
const originalName = "the original plugin (com.quarkslab.e2ee / com.quarkslab.mm-e2ee)"

const (
	kvMigrationDone = "migration:original:v1"
	// A public key JSON is about 200 bytes; a method is one digit.
	maxMigratedPubkeyBytes = 1024
	maxMigratedMethodBytes = 16
	migrationQueryTimeout  = 2 * time.Minute
)

// originalRow is one row of the original plugin's KV.
type originalRow struct {
	PluginID string
	Key      string
	Value    []byte
	ExpireAt int64
}

// migrationCounts: copied = written here; kept = we already had a value (ours stays);
// invalid = failed validation; stale = a backup that does not go with the user's key here.
type migrationCounts struct {
	Copied  int `json:"copied"`
	Kept    int `json:"kept"`
	Invalid int `json:"invalid"`
	Stale   int `json:"stale,omitempty"`
	// Taken: a public key another user already holds (the first keeps it; logged).
	Taken int `json:"taken,omitempty"`
}

// migrationSummary is what a run did; stored under kvMigrationDone when it finished cleanly.
type migrationSummary struct {
	Pubkeys  migrationCounts `json:"pubkeys"`
	Channels migrationCounts `json:"channels"`
	Backups  migrationCounts `json:"backups"`
	// Ignored: expired rows and keys of other kinds. Failed: KV errors (the run is retried).
	Ignored int   `json:"ignored"`
	Failed  int   `json:"failed"`
	At      int64 `json:"at"`
}

func (s migrationSummary) String() string {
	c := func(name string, m migrationCounts) string {
		out := fmt.Sprintf("%s: %d copied, %d kept, %d invalid", name, m.Copied, m.Kept, m.Invalid)
		if m.Stale > 0 {
			out += fmt.Sprintf(", %d stale", m.Stale)
		}
		if m.Taken > 0 {
			out += fmt.Sprintf(", %d held by another user", m.Taken)
		}
		return out
	}
	return fmt.Sprintf("%s; %s; %s; %d ignored, %d failed", c("public keys", s.Pubkeys),
		c("channel settings", s.Channels), c("GPG backups", s.Backups), s.Ignored, s.Failed)
}

// originalRowsQuery selects the original's rows. Unquoted identifiers: PostgreSQL folds them
// to lower case, MySQL (case-sensitive table names on Linux) needs the server's own spelling.
func originalRowsQuery(driverName string) string {
	q := "SELECT PluginId, PKey, PValue, ExpireAt FROM PluginKeyValueStore WHERE PluginId IN ($1, $2)"
	if driverName == "mysql" {
		q = strings.NewReplacer("$1", "?", "$2", "?").Replace(q)
	}
	return q
}

// readOriginalRows returns the original plugin's KV rows, through the tested reader when set.
func (p *Plugin) readOriginalRows() ([]originalRow, error) {
	if p.originalRows != nil {
		return p.originalRows()
	}
	if p.Driver == nil {
		return nil, errors.New("no database driver available to the plugin")
	}
	cfg := p.API.GetConfig()
	if cfg == nil || cfg.SqlSettings.DriverName == nil {
		return nil, errors.New("cannot read the database driver name")
	}
	client := pluginapi.NewClient(p.API, p.Driver)
	db, err := client.Store.GetMasterDB()
	if err != nil {
		return nil, fmt.Errorf("opening the database: %w", err)
	}
	defer client.Store.Close()
	return queryOriginalRows(db, *cfg.SqlSettings.DriverName)
}

func queryOriginalRows(db *sql.DB, driverName string) ([]originalRow, error) {
	ctx, cancel := context.WithTimeout(context.Background(), migrationQueryTimeout)
	defer cancel()
	rows, err := db.QueryContext(ctx, originalRowsQuery(driverName), originalPluginIDs[0], originalPluginIDs[1])
	if err != nil {
		return nil, fmt.Errorf("reading the original plugin's data: %w", err)
	}
	defer rows.Close()
	var out []originalRow
	for rows.Next() {
		var r originalRow
		var expire sql.NullInt64
		if err := rows.Scan(&r.PluginID, &r.Key, &r.Value, &expire); err != nil {
			return nil, fmt.Errorf("reading the original plugin's data: %w", err)
		}
		r.ExpireAt = expire.Int64
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the original plugin's data: %w", err)
	}
	return out, nil
}

// runOriginalMigration copies the original's data unless a completed run is recorded (force:
// run anyway). ran is false when it was skipped.
func (p *Plugin) runOriginalMigration(force bool) (summary migrationSummary, ran bool, err error) {
	if !force {
		done, appErr := p.API.KVGet(kvMigrationDone)
		if appErr != nil {
			return summary, false, fmt.Errorf("reading the migration record: %w", appErr)
		}
		if done != nil {
			return summary, false, nil
		}
	}
	rows, err := p.readOriginalRows()
	if err != nil {
		return summary, false, err
	}
	summary = p.migrateOriginal(rows, model.GetMillis())
	p.API.LogInfo("E2EE: migration from " + originalName + ": " + summary.String())
	if summary.Failed > 0 {
		return summary, true, nil // not recorded: the next activation tries again
	}
	record, _ := json.Marshal(summary)
	if appErr := p.API.KVSet(kvMigrationDone, record); appErr != nil {
		return summary, true, fmt.Errorf("recording the migration: %w", appErr)
	}
	return summary, true, nil
}

// migrateOriginal copies valid rows where we have no value yet. Keys first: a backup is only
// copied when the user's key here is the one it was made for.
func (p *Plugin) migrateOriginal(rows []originalRow, now int64) migrationSummary {
	s := migrationSummary{At: now}
	rank := func(k string) int {
		switch {
		case strings.HasPrefix(k, kvPubkeyPrefix):
			return 0
		case strings.HasPrefix(k, kvBackupPrefix):
			return 1
		}
		return 2
	}
	idRank := func(id string) int {
		for i, known := range originalPluginIDs {
			if id == known {
				return i
			}
		}
		return len(originalPluginIDs)
	}
	sorted := append([]originalRow(nil), rows...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if rank(a.Key) != rank(b.Key) {
			return rank(a.Key) < rank(b.Key)
		}
		return idRank(a.PluginID) < idRank(b.PluginID)
	})

	// Valid original keys by plugin ID and user ID: a backup goes with its own plugin's key.
	origKeys := map[string]*PublicKey{}
	for _, r := range sorted {
		if r.ExpireAt > 0 && r.ExpireAt <= now {
			s.Ignored++
			continue
		}
		switch {
		case strings.HasPrefix(r.Key, kvPubkeyPrefix):
			userID := strings.TrimPrefix(r.Key, kvPubkeyPrefix)
			key, ok := parseOriginalPubkey(userID, r.Value)
			if !ok {
				s.Pubkeys.Invalid++
				continue
			}
			origKeys[r.PluginID+"/"+userID] = key
			// Into the owner index first: a key another user holds is not copied.
			owner, _, err := p.store().claimKey(key, userID)
			if err != nil {
				s.Failed++
				continue
			}
			if owner != userID {
				s.Pubkeys.Taken++
				id, _ := key.ID()
				p.API.LogWarn("E2EE: migration: a public key of "+originalName+" is already registered to another user; not copied (the first keeps it, this user must create a new key)",
					"user_id", userID, "kept_by", owner, "key_id", base64.StdEncoding.EncodeToString(id))
				continue
			}
			p.copyIfAbsent(r.Key, key.Marshal(), &s.Pubkeys, &s.Failed)
		case strings.HasPrefix(r.Key, kvBackupPrefix):
			userID := strings.TrimPrefix(r.Key, kvBackupPrefix)
			p.migrateBackup(userID, r.Value, origKeys[r.PluginID+"/"+userID], &s)
		case strings.HasPrefix(r.Key, kvChanMethodPrefix):
			channelID := strings.TrimPrefix(r.Key, kvChanMethodPrefix)
			if !model.IsValidId(channelID) || len(r.Value) > maxMigratedMethodBytes || r.Value == nil {
				s.Channels.Invalid++
				continue
			}
			m, err := parseStoredMethod(r.Value)
			if err != nil || m == methodChannel { // the original has no channel-key mode
				s.Channels.Invalid++
				continue
			}
			p.copyIfAbsent(r.Key, []byte(strconv.Itoa(m)), &s.Channels, &s.Failed)
		default:
			s.Ignored++
		}
	}
	return s
}

// parseOriginalPubkey accepts what pushPubkey would accept; the key is stored re-encoded.
func parseOriginalPubkey(userID string, raw []byte) (*PublicKey, bool) {
	if !model.IsValidId(userID) || len(raw) > maxMigratedPubkeyBytes {
		return nil, false
	}
	var k PublicKey
	if json.Unmarshal(raw, &k) != nil || k.Validate() != nil {
		return nil, false
	}
	return &k, true
}

// copyIfAbsent writes value only where the key has no value: atomic, so it never overwrites
// data written meanwhile by a user or another server of the cluster.
func (p *Plugin) copyIfAbsent(key string, value []byte, c *migrationCounts, failed *int) bool {
	ok, appErr := p.API.KVCompareAndSet(key, nil, value)
	switch {
	case appErr != nil:
		*failed++
		return false
	case ok:
		c.Copied++
		return true
	default:
		c.Kept++
		return false
	}
}

// migrateBackup copies a GPG backup when the user's key here is the original key it backs up:
// a backup of another key would restore the wrong private key.
func (p *Plugin) migrateBackup(userID string, value []byte, orig *PublicKey, s *migrationSummary) {
	if !model.IsValidId(userID) || e2eeformat.ValidateArmoredMessage(string(value)) != nil {
		s.Backups.Invalid++
		return
	}
	if orig == nil {
		s.Backups.Stale++ // no valid key of the original's to go with it
		return
	}
	ours, err := p.store().getPubkeyRaw(userID)
	if err != nil {
		s.Failed++
		return
	}
	if !samePubkey(ours, orig) {
		s.Backups.Stale++
		return
	}
	key := kvBackupPrefix + userID
	if !p.copyIfAbsent(key, value, &s.Backups, &s.Failed) {
		return
	}
	// The user may have pushed a new key meanwhile (which deletes the old backup): undo.
	ours, err = p.store().getPubkeyRaw(userID)
	if err == nil && samePubkey(ours, orig) {
		return
	}
	if _, appErr := p.API.KVCompareAndSet(key, value, nil); appErr != nil {
		s.Failed++
	}
	s.Backups.Copied--
	s.Backups.Stale++
}
