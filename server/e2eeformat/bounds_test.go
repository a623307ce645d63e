package e2eeformat

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Huge and deep inputs end in a plain refusal after work linear in their size: no recursion per
// nesting level beyond the struct's own depth, no quadratic step (the fuzz targets see only small
// inputs; the API caps bodies at 64 KiB, a post's props at what Mattermost stores).
func TestHugeInputsAreRefusedInLinearWork(t *testing.T) {
	fx := loadFixtures()
	alice := &fx.keys[keyAlice]

	// A v2 message with 20,000 recipients (1.7 MB): every entry decoded once, then the signature fails.
	var m map[string]any
	var ctx Context
	for _, k := range fx.messages {
		if v, _ := Version(k.e2ee); v == 2 {
			m, ctx = decodeAny(mustJSON(k.e2ee)).(map[string]any), k.ctx
			break
		}
	}
	require.NotNil(t, m)
	wrapped := m["encryptedKey"].([]any)[0].([]any)[1]
	keys := make([]any, 20000)
	for i := range keys {
		id := make([]byte, 32)
		id[0], id[1], id[2] = byte(i), byte(i>>8), byte(i>>16)
		keys[i] = []any{b64(id), wrapped}
	}
	m["encryptedKey"] = keys
	assert.ErrorContains(t, VerifyMessage(m, alice, ctx), "signature does not verify")

	// JSON nested 100,000 levels deep: encoding/json stops at its depth limit.
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	for _, parse := range []func([]byte) error{
		func(b []byte) error { _, err := ParsePart(b); return err },
		func(b []byte) error { _, err := ParseEpochHeader(b); return err },
		func(b []byte) error { _, err := ParseJoiners(b); return err },
		func(b []byte) error { _, err := ParseMessageV3(b); return err },
	} {
		requireInvalid(t, parse([]byte(deep)))
		requireInvalid(t, parse([]byte(`{"version":3,"x":`+deep+`}`)))
	}

	// Over the counts of §13: 401 wraps in a part, 101 part hashes in a record.
	wrap := []string{"u", b64(make([]byte, 32)), b64(make([]byte, 40))}
	var part [][]string
	for i := range PartMax + 1 {
		part = append(part, []string{wrap[0] + string(rune('a'+i%26)) + strings.Repeat("x", i/26), wrap[1], wrap[2]})
	}
	_, err := ParsePart(mustJSON(part))
	assert.ErrorContains(t, err, "1 to 400 wraps")
	var rec map[string]any
	require.NoError(t, json.Unmarshal(fx.record, &rec))
	hashes := make([]string, MaxParts+1)
	for i := range hashes {
		hashes[i] = b64(make([]byte, 32))
	}
	rec["partHashes"] = hashes
	_, err = ParseEpochHeader(mustJSON(rec))
	assert.ErrorContains(t, err, "1 to 100 hashes")

	// A backup over 32 KiB is refused before it is scanned.
	assert.ErrorIs(t, ValidateArmoredMessage(strings.Repeat("A", 10<<20)), ErrBackupTooLarge)
}
