//go:build integration

package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// /e2ee status names the plugin version and the SHA-256 of the bundle this server serves
// (checked against the bytes fetched from /static/plugins/), and says it proves nothing.
func TestStatusNamesTheServedBundle(t *testing.T) {
	w := setup(t)
	r := w.member.do("GET", "/api/v4/plugins/webapp", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var list []struct {
		ID      string `json:"id"`
		Version string `json:"version"`
		Webapp  struct {
			BundlePath string `json:"bundle_path"`
		} `json:"webapp"`
	}
	require.NoError(t, json.Unmarshal(r.body, &list))
	id := w.e.pluginID
	var version, bundlePath string
	for _, m := range list {
		if m.ID == id {
			version, bundlePath = m.Version, m.Webapp.BundlePath
		}
	}
	require.NotEmpty(t, bundlePath, "the plugin publishes a web app bundle")
	// The web app's rewrite: /static/<id>/ -> /static/plugins/<id>/.
	served := w.member.do("GET", "/static/plugins/"+bundlePath[len("/static/"):], nil)
	require.Equal(t, http.StatusOK, served.status)
	sum := sha256.Sum256(served.body)

	status := w.member.command(w.channelID, "/e2ee status")
	assert.Contains(t, status, "Plugin version "+version+".")
	assert.Contains(t, status, "Web app bundle held by this server: SHA-256 "+hex.EncodeToString(sum[:]))
	assert.Contains(t, status, "served as "+bundlePath[len("/static/"+id+"/"):])
	assert.Contains(t, status, "This line comes from the server, so it proves nothing")
	assert.NotContains(t, status, "DIFFERS")
}
