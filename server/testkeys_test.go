package main

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mme2ee/mattermost-plugin-e2ee/server/e2eeformat"
)

// testUser holds a fresh key pair set, to sign messages as the web app would.
type testUser struct {
	sign *ecdsa.PrivateKey
	pub  PublicKey
}

func newTestUser(t testing.TB) *testUser {
	sign, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	encr, err := ecdh.P256().GenerateKey(rand.Reader)
	require.NoError(t, err)
	rawSign, err := sign.PublicKey.Bytes()
	require.NoError(t, err)
	return &testUser{sign: sign, pub: PublicKey{
		Sign: base64.StdEncoding.EncodeToString(rawSign),
		Encr: base64.StdEncoding.EncodeToString(encr.PublicKey().Bytes()),
	}}
}

// rawSign signs data as WebCrypto does: ECDSA P-256 SHA-256, r || s.
func (u *testUser) rawSign(t testing.TB, data []byte) []byte {
	d := sha256.Sum256(data)
	r, s, err := ecdsa.Sign(rand.Reader, u.sign, d[:])
	require.NoError(t, err)
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func ephemeralPoint(t testing.TB) []byte {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	require.NoError(t, err)
	return k.PublicKey().Bytes()
}

func toProp(t testing.TB, v any) map[string]any {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

// v1Message builds a v1 props.e2ee with random ciphertext signed by u (the server checks
// structure and signature only).
func (u *testUser) v1Message(t testing.TB, recipients int) map[string]any {
	iv, eph, ct := randBytes(16), ephemeralPoint(t), randBytes(40)
	h := sha256.Sum256(eph)
	data := append(append([]byte{}, iv...), h[:]...)
	data = binary.LittleEndian.AppendUint32(data, uint32(recipients))
	var keys [][]string
	for range recipients {
		id := randBytes(32)
		data = append(data, id...)
		keys = append(keys, []string{b64(id), b64(randBytes(24))})
	}
	data = binary.LittleEndian.AppendUint32(data, uint32(len(ct)))
	data = append(data, ct...)
	return toProp(t, map[string]any{
		"version": 1, "iv": b64(iv), "pubECDHE": b64(eph), "encryptedKey": keys,
		"encryptedData": b64(ct), "signature": b64(u.rawSign(t, data)),
	})
}

// v2Message builds a v2 props.e2ee bound to ctx, signed by u, following docs/design.md.
func (u *testUser) v2Message(t testing.TB, ctx messageContext, recipients int) map[string]any {
	ids := make([][]byte, recipients)
	for i := range ids {
		ids[i] = randBytes(32)
	}
	return u.v2MessageFor(t, ctx, ids)
}

// v2MessageFor is v2Message with the given recipient key IDs (repeats included, as a hostile
// client could sign them).
func (u *testUser) v2MessageFor(t testing.TB, ctx messageContext, ids [][]byte) map[string]any {
	createdAt := uint64(1764000000000)
	iv, eph, ct := randBytes(12), ephemeralPoint(t), randBytes(48)
	data := e2eeformat.AppendFramed(nil, []byte("mm-e2ee/p2p/v2/signature"),
		[]byte{0, 0, 0, 2}, binary.BigEndian.AppendUint64(nil, createdAt),
		[]byte(ctx.ChannelID), []byte(ctx.RootID), []byte(ctx.UserID), iv, eph,
		binary.BigEndian.AppendUint32(nil, uint32(len(ids))))
	var keys [][]string
	for _, id := range ids {
		w := randBytes(24)
		data = e2eeformat.AppendFramed(data, id, w)
		keys = append(keys, []string{b64(id), b64(w)})
	}
	data = e2eeformat.AppendFramed(data, ct)
	return toProp(t, map[string]any{
		"version": 2, "createdAt": createdAt, "iv": b64(iv), "pubECDHE": b64(eph), "encryptedKey": keys,
		"encryptedData": b64(ct), "signature": b64(u.rawSign(t, data)),
	})
}
