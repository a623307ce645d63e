package e2eeformat

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Found by the web app's differential test (parser_agreement.test.ts): encoding/json decodes a
// string holding a number into json.Number, so "epoch":"1" passed here and failed in the web app.
func TestV3NumbersMustBeJSONNumbers(t *testing.T) {
	msg := `{"version":3,"createdAt":1764160000000,"epoch":1,"iv":"AAAAAAAAAAAAAAAA","encryptedData":"AAAAAAAAAAAAAAAAAAAAAA==","signature":"` +
		strings.Repeat("A", 86) + `=="}`
	_, err := ParseMessageV3([]byte(msg))
	assert.NoError(t, err)
	for _, bad := range []string{`"epoch":"1"`, `"createdAt":"1764160000000"`} {
		field := strings.SplitN(bad, ":", 2)[0]
		good := map[string]string{`"epoch"`: `"epoch":1`, `"createdAt"`: `"createdAt":1764160000000`}[field]
		_, err := ParseMessageV3([]byte(strings.Replace(msg, good, bad, 1)))
		assert.Error(t, err, bad)
	}
	_, err = ParseJoiners([]byte(`{"version":3,"channelId":"c","epoch":"1","adderId":"a","createdAt":0,"pubECDHE":"","wraps":[],"signature":""}`))
	assert.ErrorContains(t, err, "expected a JSON number")
}
