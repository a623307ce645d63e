package main

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mme2ee/mattermost-plugin-e2ee/server/e2eeformat"
)

func getNonce(t *testing.T, p *Plugin, userID string) string {
	code, out := call(p, userID, "GET", "/api/v1/pubkey/nonce", "")
	require.Equal(t, http.StatusOK, code, out)
	nonce, _ := out["nonce"].(string)
	require.Len(t, nonce, 43, "32 random bytes, base64url")
	return nonce
}

func pushWithProof(t *testing.T, k PublicKey, proof string) string {
	b, err := json.Marshal(map[string]any{"pubkey": k, "proof": proof})
	require.NoError(t, err)
	return string(b)
}

func proofOf(t *testing.T, u *testUser, userID, nonce string) string {
	return b64(u.rawSign(t, e2eeformat.PushProofMessage(userID, nonce)))
}

func push(p *Plugin, userID, body string) (int, string) {
	code, out := call(p, userID, "POST", "/api/v1/pubkey/push", body)
	msg, _ := out["error"].(string)
	return code, msg
}

func TestPushNeedsProofOfPossession(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	bob := newTestUser(t)

	code, msg := push(p, bobID, pushBody(t, bob.pub, nil))
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, msg, "proof is required")
	code, _ = push(p, bobID, pushWithProof(t, bob.pub, "not base64!"))
	assert.Equal(t, http.StatusBadRequest, code)

	// No nonce asked for.
	code, msg = push(p, bobID, pushWithProof(t, bob.pub, proofOf(t, bob, bobID, "made-up")))
	assert.Equal(t, http.StatusForbidden, code)
	assert.Contains(t, msg, "nonce")

	// A signature by another key, or over other bytes.
	nonce := getNonce(t, p, bobID)
	code, msg = push(p, bobID, pushWithProof(t, bob.pub, proofOf(t, newTestUser(t), bobID, nonce)))
	assert.Equal(t, http.StatusForbidden, code)
	assert.Contains(t, msg, "proof does not verify")
	nonce = getNonce(t, p, bobID)
	code, _ = push(p, bobID, pushWithProof(t, bob.pub, b64(bob.rawSign(t, []byte(nonce)))))
	assert.Equal(t, http.StatusForbidden, code, "the label and user ID are part of what is signed")

	// A proof over an earlier nonce: asking again replaced it.
	old := getNonce(t, p, bobID)
	getNonce(t, p, bobID)
	code, _ = push(p, bobID, pushWithProof(t, bob.pub, proofOf(t, bob, bobID, old)))
	assert.Equal(t, http.StatusForbidden, code)

	_, ok := api.kv[kvPubkeyPrefix+bobID]
	assert.False(t, ok, "nothing stored so far")

	// Valid, once.
	nonce = getNonce(t, p, bobID)
	body := pushWithProof(t, bob.pub, proofOf(t, bob, bobID, nonce))
	code, msg = push(p, bobID, body)
	require.Equal(t, http.StatusOK, code, msg)
	assert.Equal(t, bob.pub.Marshal(), api.kv[kvPubkeyPrefix+bobID])
	code, msg = push(p, bobID, body)
	assert.Equal(t, http.StatusForbidden, code, "a replayed nonce")
	assert.Contains(t, msg, "nonce")
}

func TestPushNonceExpiresAndIsBoundToItsUser(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	bob := newTestUser(t)

	nonce := getNonce(t, p, bobID)
	var stored storedNonce
	require.NoError(t, json.Unmarshal(api.kv[kvNoncePrefix+bobID], &stored))
	assert.Equal(t, nonce, stored.Nonce)
	stored.ExpiresAt -= nonceTTLMillis + 1 // issued just over 5 minutes ago
	api.kv[kvNoncePrefix+bobID], _ = json.Marshal(stored)
	code, msg := push(p, bobID, pushWithProof(t, bob.pub, proofOf(t, bob, bobID, nonce)))
	assert.Equal(t, http.StatusForbidden, code)
	assert.Contains(t, msg, "expired")

	// Carol's nonce is no good for Bob, signed for either user.
	carolNonce := getNonce(t, p, carolID)
	code, _ = push(p, bobID, pushWithProof(t, bob.pub, proofOf(t, bob, bobID, carolNonce)))
	assert.Equal(t, http.StatusForbidden, code)
	code, _ = push(p, bobID, pushWithProof(t, bob.pub, proofOf(t, bob, carolID, carolNonce)))
	assert.Equal(t, http.StatusForbidden, code)
	// Bob's own nonce signed for Carol's user ID.
	nonce = getNonce(t, p, bobID)
	code, _ = push(p, bobID, pushWithProof(t, bob.pub, proofOf(t, bob, carolID, nonce)))
	assert.Equal(t, http.StatusForbidden, code)
	_, ok := api.kv[kvPubkeyPrefix+bobID]
	assert.False(t, ok)
}

func TestPushRefusesAnotherUsersKey(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	shared, later := newTestUser(t), newTestUser(t)
	code, _ := call(p, bobID, "POST", "/api/v1/pubkey/push", signedPush(t, p, bobID, shared, nil))
	require.Equal(t, http.StatusOK, code)

	// Carol holds the same private key (copied), so her proof is valid: still refused.
	code, msg := push(p, carolID, signedPush(t, p, carolID, shared, nil))
	assert.Equal(t, http.StatusForbidden, code)
	assert.Contains(t, msg, "registered to another user")

	// Bob moves on; his earlier key stays his.
	code, _ = call(p, bobID, "POST", "/api/v1/pubkey/push", signedPush(t, p, bobID, later, nil))
	require.Equal(t, http.StatusOK, code)
	code, _ = push(p, carolID, signedPush(t, p, carolID, shared, nil))
	assert.Equal(t, http.StatusForbidden, code, "a key from another user's history")
	_, ok := api.kv[kvPubkeyPrefix+carolID]
	assert.False(t, ok)

	// Bob may go back to his own earlier key.
	code, _ = call(p, bobID, "POST", "/api/v1/pubkey/push", signedPush(t, p, bobID, shared, nil))
	assert.Equal(t, http.StatusOK, code)
}

func TestPushRaceForOneKeyHasOneWinner(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	shared := newTestUser(t)
	users := []string{bobID, carolID, "daviddaviddaviddaviddavidd", "erinerinerinerinerinerinee"}
	bodies := make([]string, len(users))
	for i, u := range users {
		bodies[i] = signedPush(t, p, u, shared, nil)
	}
	codes := make([]int, len(users))
	var wg sync.WaitGroup
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = push(p, users[i], bodies[i])
		}()
	}
	wg.Wait()
	winners := 0
	for i, c := range codes {
		if c == http.StatusOK {
			winners++
			assert.Equal(t, users[i], string(api.kv[mustOwnerKey(t, shared.pub)]))
		} else {
			assert.Equal(t, http.StatusForbidden, c)
			_, ok := api.kv[kvPubkeyPrefix+users[i]]
			assert.False(t, ok)
		}
	}
	assert.Equal(t, 1, winners)
}

func mustOwnerKey(t *testing.T, k PublicKey) string {
	key, err := keyOwnerKey(&k)
	require.NoError(t, err)
	return key
}

// Keys stored before the index existed: indexed once, the earliest registration keeps a key
// two users share, and the other user cannot register it again.
func TestIndexKeyOwnersOfStoredKeys(t *testing.T) {
	p, api, alice := encryptedSetup(t) // alice's key: stored, no history
	shared, bobNow := newTestUser(t), newTestUser(t)
	// Bob registered `shared` in 2025, then bobNow; Carol registered `shared` later still.
	api.kv[kvPubkeyPrefix+bobID] = bobNow.pub.Marshal()
	api.kv[kvHistoryPrefix+bobID], _ = json.Marshal([]KeyHistoryEntry{{Pubkey: shared.pub, Since: 1750000000000}, {Pubkey: bobNow.pub, Since: 1760000000000}})
	api.kv[kvPubkeyPrefix+carolID] = shared.pub.Marshal()
	api.kv[kvHistoryPrefix+carolID], _ = json.Marshal([]KeyHistoryEntry{{Pubkey: shared.pub, Since: 1755000000000}})

	require.NoError(t, p.indexKeyOwners())
	assert.Equal(t, aliceID, string(api.kv[mustOwnerKey(t, alice.pub)]))
	assert.Equal(t, bobID, string(api.kv[mustOwnerKey(t, shared.pub)]))
	assert.Equal(t, bobID, string(api.kv[mustOwnerKey(t, bobNow.pub)]))
	assert.NotNil(t, api.kv[kvKeyOwnersDone])
	assert.True(t, containsLog(api, "WARN E2EE: the same public key is registered to two users"))

	code, _ := push(p, carolID, signedPush(t, p, carolID, shared, nil))
	assert.Equal(t, http.StatusForbidden, code)
	code, _ = push(p, "daviddaviddaviddaviddavidd", signedPush(t, p, "daviddaviddaviddaviddavidd", alice, nil))
	assert.Equal(t, http.StatusForbidden, code, "alice's key, stored before the index")

	// Every activation runs it again: a key stored meanwhile by a version without the index
	// (a downgrade) is indexed then, and owners already recorded stay.
	dave := "daviddaviddaviddaviddavidd"
	daveKey := newTestUser(t)
	api.kv[kvPubkeyPrefix+dave] = daveKey.pub.Marshal()
	api.kv[kvPubkeyPrefix+carolID] = alice.pub.Marshal() // carol took alice's key meanwhile
	require.NoError(t, p.indexKeyOwners())
	assert.Equal(t, dave, string(api.kv[mustOwnerKey(t, daveKey.pub)]))
	assert.Equal(t, aliceID, string(api.kv[mustOwnerKey(t, alice.pub)]))
}

func containsLog(api *fakeAPI, prefix string) bool {
	api.mu.Lock()
	defer api.mu.Unlock()
	for _, l := range api.logs {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// Keys copied from the original plugin go into the index; of two users with one key, the
// first keeps it and the other's is not copied.
func TestMigrationIndexesKeysAndSkipsSharedOnes(t *testing.T) {
	p, api := newTestPlugin()
	shared, own := newTestUser(t), newTestUser(t)
	p.originalRows = func() ([]originalRow, error) {
		return []originalRow{
			{PluginID: originalPluginIDs[0], Key: kvPubkeyPrefix + aliceID, Value: shared.pub.Marshal()},
			{PluginID: originalPluginIDs[0], Key: kvPubkeyPrefix + bobID, Value: shared.pub.Marshal()},
			{PluginID: originalPluginIDs[0], Key: kvPubkeyPrefix + carolID, Value: own.pub.Marshal()},
		}, nil
	}
	s, ran, err := p.runOriginalMigration(false)
	require.NoError(t, err)
	require.True(t, ran)
	assert.Equal(t, 2, s.Pubkeys.Copied)
	assert.Equal(t, 1, s.Pubkeys.Taken)
	assert.Equal(t, shared.pub.Marshal(), api.kv[kvPubkeyPrefix+aliceID])
	_, ok := api.kv[kvPubkeyPrefix+bobID]
	assert.False(t, ok, "the second user of a shared key gets none")
	assert.Equal(t, aliceID, string(api.kv[mustOwnerKey(t, shared.pub)]))
	assert.Equal(t, carolID, string(api.kv[mustOwnerKey(t, own.pub)]))
	assert.True(t, containsLog(api, "WARN E2EE: migration: a public key"))

	code, _ := push(p, bobID, signedPush(t, p, bobID, shared, nil))
	assert.Equal(t, http.StatusForbidden, code)
}

// docs/design.md §4.1: the worked example's proof verifies with alice's key from the vectors.
func TestPushProofWorkedExample(t *testing.T) {
	const userID, nonce = "w1o3a8qgf7y5bx9nkd8e4mujhr", "YfZ4_3wzCbppcUiSHYe5RAGEYF2bgB0z0Arpav8pyZs"
	const proof = "rewvo6VjS4y0NdouCAcORJtwSRFxPyjJ05T9gu0mSZ4rN3UtSndRFEuaEKe1S4XEkRYMG7RcUmVWkj6+zuhOmg=="
	msg := e2eeformat.PushProofMessage(userID, nonce)
	assert.Equal(t, "6d6d2d653265652f7075626b65792d707573682f76310a77316f3361387167663779356278396e6b643865346d756a68720a"+
		"59665a345f33777a43627070635569534859653552414745594632626742307a3041727061763870795a73", hex.EncodeToString(msg))
	pub, err := loadVectors(t).key(t, "alice").Verifier()
	require.NoError(t, err)
	sig, err := base64.StdEncoding.DecodeString(proof)
	require.NoError(t, err)
	assert.True(t, e2eeformat.VerifyRawSignature(pub, msg, sig))
	assert.False(t, e2eeformat.VerifyRawSignature(pub, e2eeformat.PushProofMessage(userID, nonce+"x"), sig))
}
