package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func storedHistory(t *testing.T, api *fakeAPI, userID string) []KeyHistoryEntry {
	t.Helper()
	raw := api.kv[kvHistoryPrefix+userID]
	require.NotNil(t, raw, "no history stored for %s", userID)
	var list []KeyHistoryEntry
	require.NoError(t, json.Unmarshal(raw, &list))
	return list
}

func historyKeys(list []KeyHistoryEntry) []PublicKey {
	out := make([]PublicKey, len(list))
	for i, e := range list {
		out[i] = e.Pubkey
	}
	return out
}

type historyAnswer struct {
	History map[string][]KeyHistoryEntry `json:"history"`
}

func getHistory(t *testing.T, p *Plugin, caller string, ids ...string) historyAnswer {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"userIds": ids})
	code, out := call(p, caller, "POST", "/api/v1/pubkey/history", string(body))
	require.Equal(t, http.StatusOK, code, out)
	raw, _ := json.Marshal(out)
	var ans historyAnswer
	require.NoError(t, json.Unmarshal(raw, &ans))
	return ans
}

func TestKeyHistoryRecordsEveryKey(t *testing.T) {
	p, api, alice := encryptedSetup(t) // alice's key predates the history
	require.NotContains(t, api.kv, kvHistoryPrefix+aliceID)

	// Before any push, the history route answers the current key alone, and writes nothing.
	ans := getHistory(t, p, bobID, aliceID)
	assert.Equal(t, []KeyHistoryEntry{{Pubkey: alice.pub, Since: 0}}, ans.History[aliceID])
	require.NotContains(t, api.kv, kvHistoryPrefix+aliceID)

	before := model.GetMillis()
	alice2 := newTestUser(t)
	code, body := call(p, aliceID, "POST", "/api/v1/pubkey/push", signedPush(t, p, aliceID, alice2, nil))
	require.Equal(t, http.StatusOK, code, body)
	list := storedHistory(t, api, aliceID)
	require.Len(t, list, 2)
	assert.Equal(t, KeyHistoryEntry{Pubkey: alice.pub, Since: 0}, list[0], "seeded with the key it replaced")
	assert.Equal(t, alice2.pub, list[1].Pubkey)
	assert.GreaterOrEqual(t, list[1].Since, before)
	assert.LessOrEqual(t, list[1].Since, model.GetMillis())

	// The same key again is no new entry.
	code, _ = call(p, aliceID, "POST", "/api/v1/pubkey/push", signedPush(t, p, aliceID, alice2, nil))
	require.Equal(t, http.StatusOK, code)
	assert.Len(t, storedHistory(t, api, aliceID), 2)

	alice3 := newTestUser(t)
	code, _ = call(p, aliceID, "POST", "/api/v1/pubkey/push", signedPush(t, p, aliceID, alice3, nil))
	require.Equal(t, http.StatusOK, code)
	// Going back to an earlier key is a new registration.
	code, _ = call(p, aliceID, "POST", "/api/v1/pubkey/push", signedPush(t, p, aliceID, alice2, nil))
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, []PublicKey{alice.pub, alice2.pub, alice3.pub, alice2.pub}, historyKeys(storedHistory(t, api, aliceID)))

	// A first key starts the history with itself.
	bob := newTestUser(t)
	code, _ = call(p, bobID, "POST", "/api/v1/pubkey/push", signedPush(t, p, bobID, bob, nil))
	require.Equal(t, http.StatusOK, code)
	bobList := storedHistory(t, api, bobID)
	require.Len(t, bobList, 1)
	assert.Equal(t, bob.pub, bobList[0].Pubkey)
	assert.Positive(t, bobList[0].Since)

	ans = getHistory(t, p, carolID, aliceID, bobID, carolID, aliceID)
	assert.Len(t, ans.History, 3)
	assert.Equal(t, []PublicKey{alice.pub, alice2.pub, alice3.pub, alice2.pub}, historyKeys(ans.History[aliceID]))
	assert.Equal(t, bobList, ans.History[bobID])
	assert.NotNil(t, ans.History[carolID], "a user without a key has an empty list, not null")
	assert.Empty(t, ans.History[carolID])

	// The wire format: {"history": {"<id>": [{"pubkey": {"sign","encr"}, "since": ms}]}}.
	code, raw := call(p, carolID, "POST", "/api/v1/pubkey/history", fmt.Sprintf(`{"userIds":[%q,%q]}`, bobID, carolID))
	require.Equal(t, http.StatusOK, code)
	entry := raw["history"].(map[string]any)[bobID].([]any)[0].(map[string]any)
	assert.Equal(t, bob.pub.Sign, entry["pubkey"].(map[string]any)["sign"])
	assert.Equal(t, float64(bobList[0].Since), entry["since"])
	assert.Equal(t, []any{}, raw["history"].(map[string]any)[carolID])
}

func TestKeyHistoryIsBounded(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	var last *testUser
	for range maxKeyHistory + 5 {
		last = newTestUser(t)
		code, body := call(p, aliceID, "POST", "/api/v1/pubkey/push", signedPush(t, p, aliceID, last, nil))
		require.Equal(t, http.StatusOK, code, body)
	}
	list := storedHistory(t, api, aliceID)
	require.Len(t, list, maxKeyHistory)
	assert.Equal(t, last.pub, list[len(list)-1].Pubkey)
	for i := 1; i < len(list); i++ {
		assert.LessOrEqual(t, list[i-1].Since, list[i].Since)
	}
}

func TestKeyHistoryRouteRefusesBadInput(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	code, body := call(p, "", "POST", "/api/v1/pubkey/history", `{"userIds":[]}`)
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Equal(t, "not authenticated", body["error"])
	code, _ = call(p, aliceID, "GET", "/api/v1/pubkey/history", "")
	assert.Equal(t, http.StatusMethodNotAllowed, code)

	tooMany := make([]string, maxUserIDsPerHistory+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("%026d", i)
	}
	tooManyBody, _ := json.Marshal(map[string]any{"userIds": tooMany})
	before := snapshot(api)
	for name, req := range map[string]string{
		"malformed":     `{"userIds": [`,
		"no userIds":    `{}`,
		"unknown field": `{"userIds": [], "x": 1}`,
		"invalid ID":    `{"userIds": ["../pubkey:` + aliceID + `"]}`,
		"too many":      string(tooManyBody),
		"trailing data": `{"userIds": []} {}`,
	} {
		code, body := call(p, bobID, "POST", "/api/v1/pubkey/history", req)
		assert.Equal(t, http.StatusBadRequest, code, name)
		assert.NotEmpty(t, body["error"], name)
	}
	assert.Equal(t, before, snapshot(api))

	// Exactly the limit is fine.
	ok, _ := json.Marshal(map[string]any{"userIds": tooMany[:maxUserIDsPerHistory]})
	code, body = call(p, bobID, "POST", "/api/v1/pubkey/history", string(ok))
	require.Equal(t, http.StatusOK, code, body)
	assert.Len(t, body["history"], maxUserIDsPerHistory)

	api.kvFail = true
	code, body = call(p, bobID, "POST", "/api/v1/pubkey/history", fmt.Sprintf(`{"userIds":[%q]}`, aliceID))
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Equal(t, "internal error", body["error"])
}

func TestKeyHistoryIgnoresCorruptEntries(t *testing.T) {
	p, api, alice := encryptedSetup(t)
	good := newTestUser(t).pub
	api.kv[kvHistoryPrefix+aliceID] = []byte(`[{"pubkey":{"sign":"x","encr":"y"},"since":1},{"pubkey":` + string(good.Marshal()) + `,"since":2}]`)
	ans := getHistory(t, p, bobID, aliceID)
	assert.Equal(t, []KeyHistoryEntry{{Pubkey: good, Since: 2}}, ans.History[aliceID])

	// An unreadable history is started over from the key being replaced.
	api.kv[kvHistoryPrefix+aliceID] = []byte(`not json`)
	next := newTestUser(t)
	code, _ := call(p, aliceID, "POST", "/api/v1/pubkey/push", signedPush(t, p, aliceID, next, nil))
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, []PublicKey{alice.pub, next.pub}, historyKeys(storedHistory(t, api, aliceID)))
}

// failingKV fails writes to keys with one prefix, to check that a push changes nothing on error.
type failingKV struct {
	*fakeAPI
	prefix string
}

func (f *failingKV) KVSet(key string, value []byte) *model.AppError {
	if strings.HasPrefix(key, f.prefix) {
		return errKV
	}
	return f.fakeAPI.KVSet(key, value)
}

func (f *failingKV) KVDelete(key string) *model.AppError { return f.KVSet(key, nil) }

func (f *failingKV) KVCompareAndSet(key string, oldValue, newValue []byte) (bool, *model.AppError) {
	if strings.HasPrefix(key, f.prefix) {
		return false, errKV
	}
	return f.fakeAPI.KVCompareAndSet(key, oldValue, newValue)
}

func TestKeyPushChangesNothingWhenHistoryOrBackupFails(t *testing.T) {
	for _, prefix := range []string{kvHistoryPrefix, kvBackupPrefix} {
		t.Run(prefix, func(t *testing.T) {
			p, api, _ := encryptedSetup(t)
			first := newTestUser(t)
			code, _ := call(p, aliceID, "POST", "/api/v1/pubkey/push", signedPush(t, p, aliceID, first, nil))
			require.Equal(t, http.StatusOK, code)
			api.kv[kvBackupPrefix+aliceID] = []byte(armored)
			before := snapshot(api)
			events := len(api.events)

			p.SetAPI(&failingKV{fakeAPI: api, prefix: prefix})
			code, body := call(p, aliceID, "POST", "/api/v1/pubkey/push", signedPush(t, p, aliceID, newTestUser(t), nil))
			assert.Equal(t, http.StatusInternalServerError, code, body)
			assert.Equal(t, before, snapshot(api), "key, history and backup unchanged")
			assert.Len(t, api.events, events, "no newPubkey event")
		})
	}
}

// Concurrent pushes (as from several cluster nodes) lose no history entry.
func TestKeyHistoryConcurrentAppends(t *testing.T) {
	_, api, alice := encryptedSetup(t)
	st := store{api: api}
	keys := make([]PublicKey, 10)
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i := range keys {
		keys[i] = newTestUser(t).pub
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = st.appendHistory(aliceID, &alice.pub, &keys[i], int64(1000+i))
		}()
	}
	wg.Wait()
	list := storedHistory(t, api, aliceID)
	stored := historyKeys(list)
	assert.Equal(t, alice.pub, stored[0], "seeded once")
	appended := 0
	for i, err := range errs {
		if err == nil {
			appended++
			assert.Contains(t, stored, keys[i])
		} else {
			assert.ErrorIs(t, err, errConflict)
			assert.NotContains(t, stored, keys[i])
		}
	}
	assert.Positive(t, appended)
	assert.Len(t, list, appended+1)
	for i := 1; i < len(list); i++ {
		assert.LessOrEqual(t, list[i-1].Since, list[i].Since, "kept in time order")
	}
}
