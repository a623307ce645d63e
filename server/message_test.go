package main

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mme2ee/mattermost-plugin-e2ee/server/e2eeformat"
)

// vectors are the original plugin's own messages (testdata/p2p-v1.json at the repository root).
type vectors struct {
	Users []struct {
		Name   string    `json:"name"`
		Pubkey PublicKey `json:"pubkey"`
	} `json:"users"`
	Messages []struct {
		Sender string         `json:"sender"`
		E2EE   map[string]any `json:"e2ee"`
		Expect string         `json:"expect"`
		Why    string         `json:"why"`
	} `json:"messages"`
}

func loadVectors(t testing.TB) *vectors {
	data, err := os.ReadFile("../testdata/p2p-v1.json")
	require.NoError(t, err)
	var v vectors
	require.NoError(t, json.Unmarshal(data, &v))
	require.NotEmpty(t, v.Messages)
	return &v
}

func (v *vectors) key(t testing.TB, name string) *PublicKey {
	for _, u := range v.Users {
		if u.Name == name {
			k := u.Pubkey
			require.NoError(t, k.Validate())
			return &k
		}
	}
	t.Fatalf("no vector user %s", name)
	return nil
}

func TestVerifyV1Vectors(t *testing.T) {
	v := loadVectors(t)
	for i, m := range v.Messages {
		err := e2eeformat.VerifyMessage(m.E2EE, v.key(t, m.Sender), messageContext{})
		switch m.Why {
		case "ciphertext bit flipped", "signature bit flipped", "iv bit flipped", "verified with another user key":
			assert.Error(t, err, "message %d (%s) must fail the signature", i, m.Why)
			var ime *InvalidMessageError
			assert.ErrorAs(t, err, &ime)
		default:
			// ok messages, and those whose flaw only the recipient sees (key wrap, not a recipient).
			assert.NoError(t, err, "message %d (%s)", i, m.Why)
		}
	}
}

func cloneMap(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func TestVerifyV1Malformed(t *testing.T) {
	v := loadVectors(t)
	good := v.Messages[0].E2EE
	key := v.key(t, v.Messages[0].Sender)
	require.NoError(t, e2eeformat.VerifyMessage(good, key, messageContext{}))

	cases := map[string]func(m map[string]any){
		"extra field could hold plaintext": func(m map[string]any) { m["text"] = "secret" },
		"missing iv":                       func(m map[string]any) { delete(m, "iv") },
		"missing encryptedData":            func(m map[string]any) { delete(m, "encryptedData") },
		"short iv":                         func(m map[string]any) { m["iv"] = "AAAA" },
		"iv not base64":                    func(m map[string]any) { m["iv"] = "!!!!" },
		"version 3":                        func(m map[string]any) { m["version"] = 3 },
		"version string":                   func(m map[string]any) { m["version"] = "1" },
		"no recipients":                    func(m map[string]any) { m["encryptedKey"] = []any{} },
		"recipient triple": func(m map[string]any) {
			ek := m["encryptedKey"].([]any)
			e := ek[0].([]any)
			ek[0] = append(e, "AAAA")
		},
		"ephemeral key off curve": func(m map[string]any) {
			m["pubECDHE"] = "BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		},
		"signature wrong size": func(m map[string]any) { m["signature"] = "AAAA" },
		// encoding/json would match these to "iv"/"encryptedData" and drop them silently.
		"case variant of a field holds text": func(m map[string]any) { m["IV"] = "the launch code" },
		"case variant of the ciphertext":     func(m map[string]any) { m["EncryptedData"] = "the launch code" },
		"case variant of the version":        func(m map[string]any) { m["Version"] = 1 },
	}
	for name, mutate := range cases {
		m := cloneMap(good)
		mutate(m)
		assert.Error(t, e2eeformat.VerifyMessage(m, key, messageContext{}), name)
	}
	assert.Error(t, e2eeformat.VerifyMessage("not an object", key, messageContext{}))
	assert.Error(t, e2eeformat.VerifyMessage(nil, key, messageContext{}))
}

// The rules of docs/design.md §3 that the Go verifier once applied more loosely than the web
// app: each case is signed correctly, so only the parsing rule refuses it.
func TestVerifyCommonParserRules(t *testing.T) {
	u := newTestUser(t)
	ctx := messageContext{ChannelID: chanID, RootID: "", UserID: aliceID}
	withCRLF := func(s string) string { return s[:8] + "\r\n" + s[8:] }

	good := u.v2Message(t, ctx, 2)
	require.NoError(t, e2eeformat.VerifyMessage(good, &u.pub, ctx))
	for _, field := range []string{"iv", "pubECDHE", "encryptedData", "signature"} {
		for _, insert := range []string{"\r\n", "\n", "\r"} {
			m := cloneMap(good)
			s := m[field].(string)
			m[field] = s[:8] + insert + s[8:]
			assert.Error(t, e2eeformat.VerifyMessage(m, &u.pub, ctx), "%s with %q", field, insert)
		}
	}
	m := cloneMap(good)
	keys := m["encryptedKey"].([]any)
	entry := keys[0].([]any)
	keys[0] = []any{withCRLF(entry[0].(string)), entry[1]}
	assert.Error(t, e2eeformat.VerifyMessage(m, &u.pub, ctx), "key ID with CR/LF")

	// The same recipient twice, once spelt with a line break: one recipient, repeated.
	id := randBytes(32)
	dup := u.v2MessageFor(t, ctx, [][]byte{id, id})
	assert.ErrorContains(t, e2eeformat.VerifyMessage(dup, &u.pub, ctx), "repeats a recipient")
	keys = dup["encryptedKey"].([]any)
	keys[1] = []any{withCRLF(keys[1].([]any)[0].(string)), keys[1].([]any)[1]}
	assert.Error(t, e2eeformat.VerifyMessage(dup, &u.pub, ctx), "repeated recipient spelt differently")

	for name, value := range map[string]any{
		"a string": "1764000000000", "negative zero": math.Copysign(0, -1), "a fraction": 1764000000000.5,
		"beyond 2^53-1": float64(1 << 53), "null": nil, "a boolean": true,
	} {
		m := cloneMap(good)
		m["createdAt"] = value
		assert.Error(t, e2eeformat.VerifyMessage(m, &u.pub, ctx), "createdAt %s", name)
	}
	// Judged by value, as JavaScript reads it: 1764000000000.0 is the integer that was signed.
	m = cloneMap(good)
	m["createdAt"] = json.Number("1.764e12")
	assert.NoError(t, e2eeformat.VerifyMessage(m, &u.pub, ctx), "createdAt in exponent form")
	m["version"] = "2"
	assert.Error(t, e2eeformat.VerifyMessage(m, &u.pub, ctx), "version as a string")

	v1 := u.v1Message(t, 2)
	require.NoError(t, e2eeformat.VerifyMessage(v1, &u.pub, ctx))
	m = cloneMap(v1)
	m["iv"] = withCRLF(m["iv"].(string))
	assert.Error(t, e2eeformat.VerifyMessage(m, &u.pub, ctx), "v1 iv with CR/LF")
	m = cloneMap(v1)
	m["version"] = "1"
	assert.Error(t, e2eeformat.VerifyMessage(m, &u.pub, ctx), "v1 version as a string")
}
