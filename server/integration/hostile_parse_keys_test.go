//go:build integration

package integration

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKeyPushNeedsProofOfPossession: issue 17 item 3 on the real server.
func TestKeyPushNeedsProofOfPossession(t *testing.T) {
	w := setup(t)
	one := w.e.newUser(t, w.admin, "itproof")
	two := w.e.newUser(t, w.admin, "itproof2")
	key, signer := freshKey(t)
	_, otherSigner := freshKey(t)

	r := one.plugin("POST", "/pubkey/push", map[string]any{"pubkey": key})
	assert.Equal(t, http.StatusBadRequest, r.status, "no proof: %s", r.body)
	assert.Contains(t, errorOf(t, r), "proof is required")
	r = one.plugin("POST", "/pubkey/push", map[string]any{"pubkey": key, "proof": proofBy(t, otherSigner, one.userID, one.nonce())})
	assert.Equal(t, http.StatusForbidden, r.status, "proof by another key: %s", r.body)
	r = one.plugin("POST", "/pubkey/push", map[string]any{"pubkey": key, "proof": proofBy(t, signer, one.userID, two.nonce())})
	assert.Equal(t, http.StatusForbidden, r.status, "another user's nonce: %s", r.body)
	earlier := one.nonce()
	one.nonce()
	r = one.plugin("POST", "/pubkey/push", map[string]any{"pubkey": key, "proof": proofBy(t, signer, one.userID, earlier)})
	assert.Equal(t, http.StatusForbidden, r.status, "a replaced nonce: %s", r.body)
	var got struct {
		PubKeys map[string]map[string]string `json:"pubKeys"`
	}
	w.member.plugin("POST", "/pubkey/get", map[string]any{"userIds": []string{one.userID}}).json(t, &got)
	assert.Nil(t, got.PubKeys[one.userID], "nothing stored by the refused pushes")
	// The same key with a line break inside its base64, which the web app cannot read (found by
	// fuzzing, docs/design.md §17.1): refused though the proof verifies.
	spelt := map[string]string{"sign": key["sign"][:40] + "\n" + key["sign"][40:], "encr": key["encr"]}
	r = one.pushKey(spelt, signer, nil)
	assert.Equal(t, http.StatusBadRequest, r.status, "a key with a line break: %s", r.body)
	w.member.plugin("POST", "/pubkey/get", map[string]any{"userIds": []string{one.userID}}).json(t, &got)
	assert.Nil(t, got.PubKeys[one.userID], "nothing stored for it")

	body := map[string]any{"pubkey": key, "proof": proofBy(t, signer, one.userID, one.nonce())}
	r = one.plugin("POST", "/pubkey/push", body)
	require.Equal(t, http.StatusOK, r.status, "valid push: %s", r.body)
	r = one.plugin("POST", "/pubkey/push", body)
	assert.Equal(t, http.StatusForbidden, r.status, "replayed nonce: %s", r.body)
	w.member.plugin("POST", "/pubkey/get", map[string]any{"userIds": []string{one.userID}}).json(t, &got)
	assert.Equal(t, key, got.PubKeys[one.userID])

	// Another user, even holding the private key, cannot register it: not now, not after the
	// first user replaced it.
	r = two.pushKey(key, signer, nil)
	assert.Equal(t, http.StatusForbidden, r.status, "%s", r.body)
	assert.Contains(t, errorOf(t, r), "registered to another user")
	next, nextSigner := freshKey(t)
	require.Equal(t, http.StatusOK, one.pushKey(next, nextSigner, nil).status)
	r = two.pushKey(key, signer, nil)
	assert.Equal(t, http.StatusForbidden, r.status, "a key in another user's history: %s", r.body)
	w.member.plugin("POST", "/pubkey/get", map[string]any{"userIds": []string{two.userID}}).json(t, &got)
	assert.Nil(t, got.PubKeys[two.userID])

	// Four users racing for one key: one wins.
	shared, sharedSigner := freshKey(t)
	racers := make([]*client, 4)
	bodies := make([]map[string]any, 4)
	for i := range racers {
		racers[i] = w.e.newUser(t, w.admin, "itrace")
		bodies[i] = map[string]any{"pubkey": shared, "proof": proofBy(t, sharedSigner, racers[i].userID, racers[i].nonce())}
	}
	codes := make([]int, 4)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = racers[i].plugin("POST", "/pubkey/push", bodies[i]).status
		}()
	}
	wg.Wait()
	assert.ElementsMatch(t, []int{200, 403, 403, 403}, codes)
}

// v2Signed builds a v2 props.e2ee (docs/design.md §6) signed by signer for the given context,
// with the given recipient key IDs (random wrapped keys and ciphertext: the server checks
// structure and signature only).
func v2Signed(t *testing.T, signer *ecdsa.PrivateKey, channelID, rootID, userID string, ids [][]byte) map[string]any {
	rnd := func(n int) []byte {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		return b
	}
	eph, err := ecdh.P256().GenerateKey(rand.Reader)
	require.NoError(t, err)
	createdAt := uint64(1764000000000)
	iv, ct, point := rnd(12), rnd(40), eph.PublicKey().Bytes()
	framed := func(dst []byte, items ...[]byte) []byte {
		for _, it := range items {
			dst = binary.BigEndian.AppendUint32(dst, uint32(len(it)))
			dst = append(dst, it...)
		}
		return dst
	}
	data := framed(nil, []byte("mm-e2ee/p2p/v2/signature"), binary.BigEndian.AppendUint32(nil, 2),
		binary.BigEndian.AppendUint64(nil, createdAt), []byte(channelID), []byte(rootID), []byte(userID),
		iv, point, binary.BigEndian.AppendUint32(nil, uint32(len(ids))))
	b64 := base64.StdEncoding.EncodeToString
	keys := [][]string{}
	for _, id := range ids {
		wrapped := rnd(24)
		data = framed(data, id, wrapped)
		keys = append(keys, []string{b64(id), b64(wrapped)})
	}
	data = framed(data, ct)
	digest := sha256.Sum256(data)
	r, s, err := ecdsa.Sign(rand.Reader, signer, digest[:])
	require.NoError(t, err)
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	out := map[string]any{"version": 2, "createdAt": createdAt, "iv": b64(iv), "pubECDHE": b64(point),
		"encryptedKey": keys, "encryptedData": b64(ct), "signature": b64(sig)}
	raw, _ := json.Marshal(out)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	return m
}

func cloneJSON(t *testing.T, m map[string]any) map[string]any {
	raw, err := json.Marshal(m)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(raw, &out))
	return out
}

// TestServerParsesLikeTheWebApp: issue 17 item 4. Correctly signed messages that the web app
// would show as damaged (base64 with line breaks, a recipient repeated under another spelling,
// createdAt as a string) are refused, as posts and as another user's edits.
func TestServerParsesLikeTheWebApp(t *testing.T) {
	w := setup(t)
	v := loadVectors(t)
	require.Equal(t, http.StatusOK, w.owner.pushKey(v.pubkey("alice"), v.signer(t, "alice"), nil).status)
	var ch struct {
		ID string `json:"id"`
	}
	w.owner.mustJSON("POST", "/api/v4/channels", map[string]string{
		"team_id": w.e.teamID, "name": randomName("it-parse-"), "display_name": "Integration parse", "type": "O",
	}, http.StatusCreated, &ch)
	r := w.owner.plugin("POST", "/channel/encryption_method?chanID="+ch.ID+"&method=p2p", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	encrypted := func(e2ee map[string]any) post {
		return post{ChannelID: ch.ID, Type: "custom_e2ee", Message: placeholder, Props: map[string]any{"e2ee": e2ee}}
	}
	crlf := func(s string) string { return s[:8] + "\r\n" + s[8:] }

	v1 := v.Messages[0].E2EE
	require.Equal(t, "alice", v.Messages[0].Sender)
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	v2 := v2Signed(t, v.signer(t, "alice"), ch.ID, "", w.owner.userID, [][]byte{id})
	dup := v2Signed(t, v.signer(t, "alice"), ch.ID, "", w.owner.userID, [][]byte{id, id})
	dupKeys := dup["encryptedKey"].([]any)
	dupKeys[1] = []any{crlf(dupKeys[1].([]any)[0].(string)), dupKeys[1].([]any)[1]}

	refused := map[string]map[string]any{"repeated recipient spelt with CR/LF": dup}
	for _, field := range []string{"iv", "pubECDHE", "encryptedData", "signature"} {
		m := cloneJSON(t, v1)
		m[field] = crlf(m[field].(string))
		refused["v1 "+field+" with CR/LF"] = m
		m = cloneJSON(t, v2)
		m[field] = crlf(m[field].(string))
		refused["v2 "+field+" with CR/LF"] = m
	}
	m := cloneJSON(t, v2)
	m["createdAt"] = "1764000000000"
	refused["createdAt as a string"] = m
	for name, e2ee := range refused {
		r := w.owner.createPost(encrypted(e2ee))
		assert.Equal(t, http.StatusBadRequest, r.status, "%s: %s", name, r.body)
	}

	// The same messages as they were signed are accepted.
	var v1Post, v2Post post
	r = w.owner.createPost(encrypted(v1))
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	r.json(t, &v1Post)
	r = w.owner.createPost(encrypted(v2))
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	r.json(t, &v2Post)

	// An admin (allowed to edit others' posts) cannot damage them this way either.
	for _, tc := range []struct {
		p     post
		field string
	}{{v1Post, "iv"}, {v2Post, "signature"}} {
		damaged := cloneJSON(t, tc.p.Props["e2ee"].(map[string]any))
		damaged[tc.field] = crlf(damaged[tc.field].(string))
		r := w.admin.do("PUT", "/api/v4/posts/"+tc.p.ID+"/patch", map[string]any{"props": map[string]any{"e2ee": damaged}})
		assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
		var now post
		w.owner.mustJSON("GET", "/api/v4/posts/"+tc.p.ID, nil, http.StatusOK, &now)
		assert.Equal(t, tc.p.Props["e2ee"], now.Props["e2ee"], "the post is unchanged")
	}
}
