package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/mattermost/mattermost/server/public/plugin"
)

// KV layout, compatible with the original plugin's data.
const (
	kvPubkeyPrefix     = "pubkey:"
	kvChanMethodPrefix = "chanEncrMeth:"
	kvBackupPrefix     = "backup_gpg:"
)

// Channel encryption methods, stored as the JSON numbers 0 and 1.
const (
	methodNone    = 0
	methodP2P     = 1
	methodChannel = 2 // channel-key mode (docs/design.md §13)
)

func methodName(m int) string {
	switch m {
	case methodP2P:
		return "p2p"
	case methodChannel:
		return "channel"
	}
	return "none"
}

func parseMethod(s string) (int, bool) {
	switch s {
	case "none":
		return methodNone, true
	case "p2p":
		return methodP2P, true
	case "channel":
		return methodChannel, true
	}
	return 0, false
}

// errConflict means a concurrent writer changed the value first; the caller may retry.
var errConflict = errors.New("concurrent update, try again")

// store wraps the plugin KV; it keeps no state of its own, so every server of a cluster
// sees the same data.
type store struct{ api plugin.API }

func (s store) getPubkey(userID string) (*PublicKey, error) {
	raw, appErr := s.api.KVGet(kvPubkeyPrefix + userID)
	if appErr != nil {
		return nil, fmt.Errorf("reading the public key: %w", appErr)
	}
	if raw == nil {
		return nil, nil
	}
	var k PublicKey
	if err := json.Unmarshal(raw, &k); err != nil || k.Validate() != nil {
		return nil, &corruptKeyError{userID: userID}
	}
	return &k, nil
}

// kvReaders bounds the concurrent KV reads of one request: each is an RPC to the server and
// a database query, and doing them in parallel divides the latency of a 1000-key fetch.
const kvReaders = 8

// readEach reads one value per distinct user ID, kvReaders at a time, in first-seen order.
func readEach[T any](userIDs []string, read func(string) (T, error)) ([]string, []T, []error) {
	unique := make([]string, 0, len(userIDs))
	seen := make(map[string]bool, len(userIDs))
	for _, id := range userIDs {
		if !seen[id] {
			seen[id] = true
			unique = append(unique, id)
		}
	}
	values := make([]T, len(unique))
	errs := make([]error, len(unique))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(kvReaders, len(unique)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				values[i], errs[i] = read(unique[i])
			}
		}()
	}
	for i := range unique {
		next <- i
	}
	close(next)
	wg.Wait()
	return unique, values, errs
}

// getPubkeys reads many users' keys; users without a key (or with an unreadable one) map to nil.
func (s store) getPubkeys(userIDs []string) (map[string]*PublicKey, error) {
	unique, keys, errs := readEach(userIDs, s.getPubkey)
	out := make(map[string]*PublicKey, len(unique))
	for i, id := range unique {
		if errs[i] != nil {
			var corrupt *corruptKeyError
			if errors.As(errs[i], &corrupt) {
				out[id] = nil
				continue // reported as "no key": the user must push a new one
			}
			return nil, errs[i]
		}
		out[id] = keys[i]
	}
	return out, nil
}

// corruptKeyError: a stored key that is not valid public key JSON.
type corruptKeyError struct{ userID string }

func (e *corruptKeyError) Error() string { return "stored public key of " + e.userID + " is corrupt" }

// setPubkey replaces the user's key only if it is still old (nil: no key), so two
// concurrent pushes cannot interleave with their backups.
func (s store) setPubkey(userID string, old []byte, key *PublicKey) error {
	ok, appErr := s.api.KVCompareAndSet(kvPubkeyPrefix+userID, old, key.Marshal())
	if appErr != nil {
		return fmt.Errorf("storing the public key: %w", appErr)
	}
	if !ok {
		return errConflict
	}
	return nil
}

func (s store) getPubkeyRaw(userID string) ([]byte, error) {
	raw, appErr := s.api.KVGet(kvPubkeyPrefix + userID)
	if appErr != nil {
		return nil, fmt.Errorf("reading the public key: %w", appErr)
	}
	return raw, nil
}

// getMethod reads a channel's method (absent: none). A KV error is returned so that
// enforcement can fail closed; an unknown stored value counts as encrypted, the safe side.
func (s store) getMethod(channelID string) (int, error) {
	raw, appErr := s.api.KVGet(kvChanMethodPrefix + channelID)
	if appErr != nil {
		return 0, fmt.Errorf("reading the channel's encryption method: %w", appErr)
	}
	m, err := parseStoredMethod(raw)
	if err != nil {
		return methodP2P, nil
	}
	return m, nil
}

// setMethod changes the channel's method atomically; changed is false when it already had it.
// prev is the method it replaced (methodUnknown for an unreadable stored value).
func (s store) setMethod(channelID string, method int) (prev int, changed bool, err error) {
	key := kvChanMethodPrefix + channelID
	for range 5 {
		old, appErr := s.api.KVGet(key)
		if appErr != nil {
			return 0, false, fmt.Errorf("reading the channel's encryption method: %w", appErr)
		}
		cur, err := parseStoredMethod(old)
		if err == nil && cur == method {
			return cur, false, nil
		}
		if err != nil {
			cur = methodUnknown
		}
		ok, appErr := s.api.KVCompareAndSet(key, old, []byte(strconv.Itoa(method)))
		if appErr != nil {
			return 0, false, fmt.Errorf("storing the channel's encryption method: %w", appErr)
		}
		if ok {
			return cur, true, nil
		}
	}
	return 0, false, errConflict
}

// methodUnknown: a stored method this version cannot read (or none stored, for counters).
const methodUnknown = -1

// parseStoredMethod reads the JSON number the original plugin stored (absent: none).
func parseStoredMethod(raw []byte) (int, error) {
	if raw == nil {
		return methodNone, nil
	}
	m, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || (m != methodNone && m != methodP2P && m != methodChannel) {
		return 0, errors.New("unknown method")
	}
	return m, nil
}

func (s store) getBackup(userID string) (string, error) {
	raw, appErr := s.api.KVGet(kvBackupPrefix + userID)
	if appErr != nil {
		return "", fmt.Errorf("reading the key backup: %w", appErr)
	}
	return string(raw), nil
}

func (s store) setBackup(userID, armored string) error {
	if appErr := s.api.KVSet(kvBackupPrefix+userID, []byte(armored)); appErr != nil {
		return fmt.Errorf("storing the key backup: %w", appErr)
	}
	return nil
}

func (s store) deleteBackup(userID string) error {
	if appErr := s.api.KVDelete(kvBackupPrefix + userID); appErr != nil {
		return fmt.Errorf("deleting the old key backup: %w", appErr)
	}
	return nil
}

// Key history: every key a user registered, oldest first, so that readers can still verify
// posts signed before a key change. Bounded: only the last maxKeyHistory keys are kept.
const (
	kvHistoryPrefix = "pubkey_history:"
	maxKeyHistory   = 20
	historyRetries  = 5
)

// KeyHistoryEntry is one registered key and when it was registered (ms since epoch; 0 for a
// key registered before the history was kept).
type KeyHistoryEntry struct {
	Pubkey PublicKey `json:"pubkey"`
	Since  int64     `json:"since"`
}

// parseHistory reads a stored history, dropping entries that are not valid keys.
func parseHistory(raw []byte) ([]KeyHistoryEntry, bool) {
	var list []KeyHistoryEntry
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, false
	}
	out := list[:0]
	for _, e := range list {
		if e.Pubkey.Validate() == nil && e.Since >= 0 {
			out = append(out, e)
		}
	}
	return out, true
}

// appendHistory records key as registered at `at`. Without a history yet, prev (the key it
// replaces, nil if none) is recorded first with since 0. It returns the previous stored value
// (nil: none) and the new one, so that a caller can undo it.
func (s store) appendHistory(userID string, prev, key *PublicKey, at int64) (before, after []byte, err error) {
	kvKey := kvHistoryPrefix + userID
	for range historyRetries {
		old, appErr := s.api.KVGet(kvKey)
		if appErr != nil {
			return nil, nil, fmt.Errorf("reading the key history: %w", appErr)
		}
		list, ok := parseHistory(old)
		if old == nil || !ok {
			// Absent, or unreadable: start over from what we know.
			list = nil
			if prev != nil {
				list = append(list, KeyHistoryEntry{Pubkey: *prev, Since: 0})
			}
		}
		list = append(list, KeyHistoryEntry{Pubkey: *key, Since: at})
		// Concurrent pushes may append out of order; keep it sorted by time.
		sort.SliceStable(list, func(i, j int) bool { return list[i].Since < list[j].Since })
		if len(list) > maxKeyHistory {
			list = list[len(list)-maxKeyHistory:]
		}
		updated, err := json.Marshal(list)
		if err != nil {
			return nil, nil, err
		}
		done, appErr := s.api.KVCompareAndSet(kvKey, old, updated)
		if appErr != nil {
			return nil, nil, fmt.Errorf("storing the key history: %w", appErr)
		}
		if done {
			return old, updated, nil
		}
	}
	return nil, nil, errConflict
}

// getHistory reads a user's key history. Users whose key predates the history get their
// current key alone (since 0); users without a key get an empty list.
func (s store) getHistory(userID string) ([]KeyHistoryEntry, error) {
	raw, appErr := s.api.KVGet(kvHistoryPrefix + userID)
	if appErr != nil {
		return nil, fmt.Errorf("reading the key history: %w", appErr)
	}
	if raw != nil {
		if list, ok := parseHistory(raw); ok && len(list) > 0 {
			return list, nil
		}
	}
	cur, err := s.getPubkey(userID)
	var corrupt *corruptKeyError
	if errors.As(err, &corrupt) {
		return []KeyHistoryEntry{}, nil
	}
	if err != nil {
		return nil, err
	}
	if cur == nil {
		return []KeyHistoryEntry{}, nil
	}
	return []KeyHistoryEntry{{Pubkey: *cur, Since: 0}}, nil
}

// getHistories reads many users' histories (duplicates answered once), kvReaders at a time.
func (s store) getHistories(userIDs []string) (map[string][]KeyHistoryEntry, error) {
	unique, lists, errs := readEach(userIDs, s.getHistory)
	out := make(map[string][]KeyHistoryEntry, len(unique))
	for i, id := range unique {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out[id] = lists[i]
	}
	return out, nil
}

// setMethodIfUnset sets the method of a channel whose mode nobody ever set (no KV entry):
// the policy never overrides a member's or admin's explicit choice, including "none".
func (s store) setMethodIfUnset(channelID string, method int) (bool, error) {
	ok, appErr := s.api.KVCompareAndSet(kvChanMethodPrefix+channelID, nil, []byte(strconv.Itoa(method)))
	if appErr != nil {
		return false, fmt.Errorf("storing the channel's encryption method: %w", appErr)
	}
	return ok, nil
}

// methodUnset: the channel has no stored method.
func (s store) methodUnset(channelID string) (bool, error) {
	raw, appErr := s.api.KVGet(kvChanMethodPrefix + channelID)
	if appErr != nil {
		return false, fmt.Errorf("reading the channel's encryption method: %w", appErr)
	}
	return raw == nil, nil
}
