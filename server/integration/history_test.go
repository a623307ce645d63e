//go:build integration

package integration

import (
	"crypto/ecdsa"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A user who replaces her key keeps her earlier keys readable through /pubkey/history.
func TestKeyHistoryAfterKeyChange(t *testing.T) {
	w := setup(t)
	user := w.e.newUser(t, w.admin, "ithistory") // own user: the shared ones keep their keys
	first, firstSigner := freshKey(t)
	second, secondSigner := freshKey(t)
	signers := map[string]*ecdsa.PrivateKey{first["sign"]: firstSigner, second["sign"]: secondSigner}

	type entry struct {
		Pubkey map[string]string `json:"pubkey"`
		Since  int64             `json:"since"`
	}
	history := func() []entry {
		var got struct {
			History map[string][]entry `json:"history"`
		}
		r := w.member.plugin("POST", "/pubkey/history", map[string]any{"userIds": []string{user.userID}})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		r.json(t, &got)
		require.Contains(t, got.History, user.userID)
		return got.History[user.userID]
	}
	assert.Empty(t, history(), "no key yet")

	start := time.Now().UnixMilli()
	for _, key := range []map[string]string{first, first, second} {
		r := user.pushKey(key, signers[key["sign"]], nil)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	}
	got := history()
	require.Len(t, got, 2, "pushing the same key twice records it once")
	assert.Equal(t, first, got[0].Pubkey)
	assert.Equal(t, second, got[1].Pubkey)
	assert.GreaterOrEqual(t, got[0].Since, start-60_000) // server clock, small skew allowed
	assert.LessOrEqual(t, got[0].Since, got[1].Since)

	// Stored in the plugin KV under pubkey_history:<userID>.
	w.checkKV(t, "pubkey_history:"+user.userID, func(value []byte) {
		assert.Contains(t, string(value), second["sign"])
	})

	// Same validation as /pubkey/get.
	r := w.member.plugin("POST", "/pubkey/history", map[string]any{"userIds": []string{"not-an-id"}})
	assert.Equal(t, http.StatusBadRequest, r.status)
	errorOf(t, r)
	anon := &client{t: t, e: w.e}
	r = anon.plugin("POST", "/pubkey/history", map[string]any{"userIds": []string{user.userID}})
	assert.Equal(t, http.StatusUnauthorized, r.status)
}
