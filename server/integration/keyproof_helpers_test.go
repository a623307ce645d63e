//go:build integration

package integration

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// nonce asks GET /pubkey/nonce for c.
func (c *client) nonce() string {
	c.t.Helper()
	r := c.plugin("GET", "/pubkey/nonce", nil)
	require.Equal(c.t, http.StatusOK, r.status, "%s", r.body)
	var n struct {
		Nonce string `json:"nonce"`
	}
	r.json(c.t, &n)
	require.NotEmpty(c.t, n.Nonce)
	return n.Nonce
}

// proofBy is the push proof of docs/api.md: ECDSA P-256 SHA-256, r || s, standard base64.
func proofBy(t *testing.T, signer *ecdsa.PrivateKey, userID, nonce string) string {
	digest := sha256.Sum256([]byte("mm-e2ee/pubkey-push/v1\n" + userID + "\n" + nonce))
	r, s, err := ecdsa.Sign(rand.Reader, signer, digest[:])
	require.NoError(t, err)
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return base64.StdEncoding.EncodeToString(out)
}

// pushKey registers pub for c with a proof of possession by signer over a fresh nonce; extra
// fields (backupGPG) go into the same body.
func (c *client) pushKey(pub map[string]string, signer *ecdsa.PrivateKey, extra map[string]any) response {
	c.t.Helper()
	body := map[string]any{"pubkey": pub, "proof": proofBy(c.t, signer, c.userID, c.nonce())}
	for k, v := range extra {
		body[k] = v
	}
	return c.plugin("POST", "/pubkey/push", body)
}

// freshKey is a new public key JSON and its private sign key.
func freshKey(t *testing.T) (map[string]string, *ecdsa.PrivateKey) {
	sign, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	encr, err := ecdh.P256().GenerateKey(rand.Reader)
	require.NoError(t, err)
	rawSign, err := sign.PublicKey.Bytes()
	require.NoError(t, err)
	return map[string]string{
		"sign": base64.StdEncoding.EncodeToString(rawSign),
		"encr": base64.StdEncoding.EncodeToString(encr.PublicKey().Bytes()),
	}, sign
}

// signer reads a vector user's private sign key from its clear-text backup (design.md §4).
func (v *vectorFile) signer(t *testing.T, name string) *ecdsa.PrivateKey {
	for _, u := range v.Users {
		if u.Name != name {
			continue
		}
		var body strings.Builder
		for _, l := range strings.Split(u.Backup, "\n") {
			if !strings.HasPrefix(l, "-----") {
				body.WriteString(strings.TrimSpace(l))
			}
		}
		raw, err := base64.StdEncoding.DecodeString(body.String())
		require.NoError(t, err)
		var b struct {
			Sign struct{ X, Y, D string } `json:"sign"`
		}
		require.NoError(t, json.Unmarshal(raw, &b))
		n := func(s string) *big.Int {
			x, err := base64.RawURLEncoding.DecodeString(s)
			require.NoError(t, err)
			return new(big.Int).SetBytes(x)
		}
		return &ecdsa.PrivateKey{PublicKey: ecdsa.PublicKey{Curve: elliptic.P256(), X: n(b.Sign.X), Y: n(b.Sign.Y)}, D: n(b.Sign.D)}
	}
	panic("no vector user " + name)
}

// keyID is the hex key ID of a public key JSON: SHA-256(encr || sign).
func keyID(t *testing.T, pub map[string]string) string {
	encr, err := base64.StdEncoding.DecodeString(pub["encr"])
	require.NoError(t, err)
	sign, err := base64.StdEncoding.DecodeString(pub["sign"])
	require.NoError(t, err)
	h := sha256.Sum256(append(encr, sign...))
	return hex.EncodeToString(h[:])
}

// forgetKeyOwners deletes the owner records of the vector keys: every run registers them for
// its own fresh users, and a key stays bound to the first user that registered it.
func forgetKeyOwners(t *testing.T, e *env, keys ...map[string]string) {
	require.NotEmpty(t, e.dsn, "MM_DSN is not set")
	db, err := sql.Open("postgres", e.dsn)
	require.NoError(t, err)
	defer db.Close()
	for _, k := range keys {
		_, err := db.Exec(`DELETE FROM pluginkeyvaluestore WHERE pluginid = $1 AND pkey = $2`, e.pluginID, "pubkey_owner:"+keyID(t, k))
		require.NoError(t, err)
	}
}
