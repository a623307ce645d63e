package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/pluginapi"
)

// Adoption counters for the admin view (docs/design.md §14.4). One KV document, updated with
// compare-and-set at each key registration and channel mode change, so that the view costs a
// few reads instead of a scan of every key and channel. A recount (at the first activation,
// after a migration, or on an admin's request) rebuilds it from the KV.
const (
	kvStatsKey   = "stats:v1"
	statsRetries = 50
	statsDays    = 30
	// Deactivated users are listed page by page to leave out their keys; beyond this many
	// pages the figure is marked approximate.
	inactivePages   = 25
	usersPerPage    = 200
	activeUserPages = 100
)

type statsDoc struct {
	// KeyHolders: users with a valid registered key (deactivated ones included).
	KeyHolders int `json:"key_holders"`
	// Channels: encrypted channels by mode name; Direct: DMs and group messages among them.
	Channels map[string]int `json:"channels"`
	Direct   int            `json:"direct"`
	// KeysByDay: keys registered (first keys and replacements) per UTC day, last statsDays+1 days.
	KeysByDay map[string]int `json:"keys_by_day"`
	// CountedSince: when the counters were last rebuilt from the KV (ms).
	CountedSince int64 `json:"counted_since"`
}

func dayOf(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02") }

// pruneDays drops days older than the window, so the document stays small.
func (d *statsDoc) pruneDays(now int64) {
	oldest := dayOf(now - int64(statsDays)*24*3600*1000)
	for day := range d.KeysByDay {
		if day < oldest {
			delete(d.KeysByDay, day)
		}
	}
}

// keysSince sums the registrations of the last statsDays days (today included).
func (d *statsDoc) keysLastDays(now int64) int {
	oldest := dayOf(now - int64(statsDays-1)*24*3600*1000)
	n := 0
	for day, c := range d.KeysByDay {
		if day >= oldest {
			n += c
		}
	}
	return n
}

func parseStats(raw []byte) *statsDoc {
	d := &statsDoc{}
	if raw != nil {
		_ = json.Unmarshal(raw, d) // unreadable: start from zero; a recount repairs it
	}
	if d.Channels == nil {
		d.Channels = map[string]int{}
	}
	if d.KeysByDay == nil {
		d.KeysByDay = map[string]int{}
	}
	return d
}

func (s store) getStats() (*statsDoc, bool, error) {
	raw, appErr := s.api.KVGet(kvStatsKey)
	if appErr != nil {
		return nil, false, fmt.Errorf("reading the adoption counters: %w", appErr)
	}
	return parseStats(raw), raw != nil, nil
}

// updateStats applies change with compare-and-set, so concurrent updates from any server of
// a cluster all count.
func (s store) updateStats(change func(*statsDoc)) error {
	for range statsRetries {
		old, appErr := s.api.KVGet(kvStatsKey)
		if appErr != nil {
			return fmt.Errorf("reading the adoption counters: %w", appErr)
		}
		d := parseStats(old)
		change(d)
		updated, err := json.Marshal(d)
		if err != nil {
			return err
		}
		ok, appErr := s.api.KVCompareAndSet(kvStatsKey, old, updated)
		if appErr != nil {
			return fmt.Errorf("storing the adoption counters: %w", appErr)
		}
		if ok {
			return nil
		}
	}
	return errConflict
}

func (p *Plugin) logStatsError(err error) {
	if err != nil {
		p.API.LogWarn("E2EE: cannot update the adoption counters; an admin can recount them in the System Console", "error", err.Error())
	}
}

// countKeyRegistered: a user stored a new key (first: she had none).
func (p *Plugin) countKeyRegistered(first bool, now int64) {
	p.logStatsError(p.store().updateStats(func(d *statsDoc) {
		if first {
			d.KeyHolders++
		}
		d.KeysByDay[dayOf(now)]++
		d.pruneDays(now)
	}))
}

func isDirect(t model.ChannelType) bool {
	return t == model.ChannelTypeDirect || t == model.ChannelTypeGroup
}

// methodChanged counts a channel's change of mode (prev methodNone: it had none, or no entry).
// Plain additions, never clamped: the updates of two changes of one channel may land in either
// order (two requests, two servers), and sums do not depend on it; the view clamps at 0.
func (p *Plugin) methodChanged(ch *model.Channel, prev, next int) {
	p.logStatsError(p.store().updateStats(func(d *statsDoc) {
		if prev != methodNone && prev != methodUnknown {
			d.Channels[methodName(prev)]--
			if isDirect(ch.Type) {
				d.Direct--
			}
		}
		if next != methodNone {
			d.Channels[methodName(next)]++
			if isDirect(ch.Type) {
				d.Direct++
			}
		}
	}))
}

// recountStats rebuilds the counters from the KV: every key, history and channel mode. It
// reads everything, so it runs only at the first activation, after a migration or when an
// admin asks; updates made while it runs may be missed until the next recount.
func (p *Plugin) recountStats() (*statsDoc, error) {
	now := model.GetMillis()
	d := parseStats(nil)
	var channelIDs []string
	const perPage = 1000
	for page := 0; ; page++ {
		keys, appErr := p.API.KVList(page, perPage)
		if appErr != nil {
			return nil, fmt.Errorf("listing the KV: %w", appErr)
		}
		var histories []string
		for _, k := range keys {
			switch {
			case strings.HasPrefix(k, kvPubkeyPrefix):
				d.KeyHolders++
			case strings.HasPrefix(k, kvHistoryPrefix):
				histories = append(histories, strings.TrimPrefix(k, kvHistoryPrefix))
			case strings.HasPrefix(k, kvChanMethodPrefix):
				channelIDs = append(channelIDs, strings.TrimPrefix(k, kvChanMethodPrefix))
			}
		}
		_, raws, errs := readEach(histories, func(id string) ([]byte, error) {
			raw, appErr := p.API.KVGet(kvHistoryPrefix + id)
			if appErr != nil {
				return nil, appErr
			}
			return raw, nil
		})
		for i, raw := range raws {
			if errs[i] != nil {
				return nil, fmt.Errorf("reading a key history: %w", errs[i])
			}
			list, _ := parseHistory(raw)
			for _, e := range list {
				if e.Since > 0 {
					d.KeysByDay[dayOf(e.Since)]++
				}
			}
		}
		if len(keys) < perPage {
			break
		}
	}
	st := p.store()
	_, types, errs := readEach(channelIDs, func(id string) (model.ChannelType, error) {
		m, err := st.getMethod(id)
		if err != nil || m == methodNone {
			return "", err
		}
		ch, appErr := p.API.GetChannel(id)
		if appErr != nil {
			if appErr.StatusCode == http.StatusNotFound {
				return "", nil // a deleted channel's leftover mode
			}
			return "", appErr
		}
		return ch.Type + ":" + model.ChannelType(methodName(m)), nil
	})
	for i, t := range types {
		if errs[i] != nil {
			return nil, fmt.Errorf("reading an encrypted channel: %w", errs[i])
		}
		if t == "" {
			continue
		}
		typ, mode, _ := strings.Cut(string(t), ":")
		d.Channels[mode]++
		if isDirect(model.ChannelType(typ)) {
			d.Direct++
		}
	}
	d.pruneDays(now)
	d.CountedSince = now
	// Overwrite whatever was there: the recount is the reference.
	if err := st.updateStats(func(cur *statsDoc) { *cur = *d }); err != nil {
		return nil, err
	}
	return d, nil
}

// ensureStats recounts at the first activation (no counters yet) or when asked to, in the
// background so that activation stays fast.
func (p *Plugin) ensureStats(force bool) {
	if !force {
		if _, exists, err := p.store().getStats(); err != nil || exists {
			return
		}
	}
	run := p.runInBackground
	if run == nil {
		run = func(f func()) { go f() }
	}
	run(func() {
		if _, err := p.recountStats(); err != nil {
			p.API.LogWarn("E2EE: cannot count keys and encrypted channels", "error", err.Error())
		}
	})
}

// AdminStats is the admin view's answer (GET /admin/stats, docs/api.md).
type AdminStats struct {
	ActiveUsers        int            `json:"active_users"`
	ActiveUsersWithKey int            `json:"active_users_with_key"`
	KeyShare           float64        `json:"key_share"`
	Approximate        bool           `json:"approximate"`
	EncryptedChannels  map[string]int `json:"encrypted_channels"`
	EncryptedDirect    int            `json:"encrypted_direct"`
	KeysLast30Days     int            `json:"keys_last_30_days"`
	SyncedDrafts       bool           `json:"synced_drafts"`
	Policy             PolicyView     `json:"policy"`
	ConfigError        string         `json:"config_error"`
	CountedSince       int64          `json:"counted_since"`
}

// PolicyView is the active encryption policy.
type PolicyView struct {
	AutoEncryptDirect          string `json:"auto_encrypt_direct"`
	AutoEncryptPrivateChannels string `json:"auto_encrypt_private_channels"`
	RequireEncryption          bool   `json:"require_encryption"`
}

func (p *Plugin) requireSystemAdmin(userID string) error {
	if !p.API.HasPermissionTo(userID, model.PermissionManageSystem) {
		return apiErr(http.StatusForbidden, "only a system admin can see the encryption statistics")
	}
	return nil
}

func (p *Plugin) handleAdminStats(userID string, _ *http.Request) (any, error) {
	if err := p.requireSystemAdmin(userID); err != nil {
		return nil, err
	}
	return p.adminStats()
}

func (p *Plugin) handleAdminRecount(userID string, _ *http.Request) (any, error) {
	if err := p.requireSystemAdmin(userID); err != nil {
		return nil, err
	}
	if _, err := p.recountStats(); err != nil {
		return nil, err
	}
	return p.adminStats()
}

func (p *Plugin) adminStats() (*AdminStats, error) {
	d, _, err := p.store().getStats()
	if err != nil {
		return nil, err
	}
	inactiveWithKey, complete, err := p.inactiveKeyHolders()
	if err != nil {
		return nil, err
	}
	active, err := p.countActiveUsers()
	if err != nil {
		return nil, err
	}
	cfg := p.getConfiguration()
	now := model.GetMillis()
	// A count is below 0 only while the update of an earlier change has not landed yet.
	channels := make(map[string]int, len(d.Channels))
	for mode, n := range d.Channels {
		channels[mode] = max(0, n)
	}
	out := &AdminStats{
		ActiveUsers:        active,
		ActiveUsersWithKey: min(active, max(0, d.KeyHolders-inactiveWithKey)),
		Approximate:        !complete,
		EncryptedChannels:  channels,
		EncryptedDirect:    max(0, d.Direct),
		KeysLast30Days:     d.keysLastDays(now),
		SyncedDrafts:       true,
		Policy: PolicyView{
			AutoEncryptDirect:          cfg.directPolicy(),
			AutoEncryptPrivateChannels: cfg.privatePolicy(),
			RequireEncryption:          cfg.RequireEncryption,
		},
		ConfigError:  p.getConfigError(),
		CountedSince: d.CountedSince,
	}
	if out.EncryptedChannels[methodName(methodP2P)] == 0 {
		out.EncryptedChannels[methodName(methodP2P)] = 0
	}
	if active > 0 {
		out.KeyShare = float64(out.ActiveUsersWithKey) / float64(active)
	}
	if mm := p.API.GetConfig(); mm != nil && mm.ServiceSettings.AllowSyncedDrafts != nil {
		out.SyncedDrafts = *mm.ServiceSettings.AllowSyncedDrafts
	}
	return out, nil
}

// inactiveKeyHolders counts deactivated users that still have a key (usually few), a page of
// users and one batch of key reads at a time.
func (p *Plugin) inactiveKeyHolders() (n int, complete bool, err error) {
	st := p.store()
	for page := 0; page < inactivePages; page++ {
		users, appErr := p.API.GetUsers(&model.UserGetOptions{Inactive: true, Page: page, PerPage: usersPerPage})
		if appErr != nil {
			return 0, false, fmt.Errorf("listing deactivated users: %w", appErr)
		}
		ids := make([]string, 0, len(users))
		for _, u := range users {
			ids = append(ids, u.Id)
		}
		keys, err := st.getPubkeys(ids)
		if err != nil {
			return 0, false, err
		}
		for _, k := range keys {
			if k != nil {
				n++
			}
		}
		if len(users) < usersPerPage {
			return n, true, nil
		}
	}
	return n, false, nil
}

// countActiveUsers counts active human users with one SQL query when the plugin has database
// access (the server's REST API has this figure, the plugin API does not), else page by page.
func (p *Plugin) countActiveUsers() (int, error) {
	if p.activeUsersCount != nil {
		return p.activeUsersCount()
	}
	if p.Driver != nil {
		n, err := p.countActiveUsersSQL()
		if err == nil {
			return n, nil
		}
		p.API.LogWarn("E2EE: cannot count active users in the database; listing them instead", "error", err.Error())
	}
	n := 0
	for page := 0; page < activeUserPages; page++ {
		users, appErr := p.API.GetUsers(&model.UserGetOptions{Active: true, Page: page, PerPage: usersPerPage})
		if appErr != nil {
			return 0, fmt.Errorf("listing active users: %w", appErr)
		}
		for _, u := range users {
			if !u.IsBot {
				n++
			}
		}
		if len(users) < usersPerPage {
			break
		}
	}
	return n, nil
}

func (p *Plugin) countActiveUsersSQL() (int, error) {
	client := pluginapi.NewClient(p.API, p.Driver)
	db, err := client.Store.GetReplicaDB()
	if err != nil {
		return 0, err
	}
	defer client.Store.Close()
	var n int
	err = db.QueryRow("SELECT COUNT(*) FROM Users u WHERE u.DeleteAt = 0 AND NOT EXISTS (SELECT 1 FROM Bots b WHERE b.UserId = u.Id)").Scan(&n)
	if err != nil {
		return 0, errors.New("counting active users: " + err.Error())
	}
	return n, nil
}
