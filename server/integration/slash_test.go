//go:build integration

package integration

import (
	"database/sql"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dmWith opens (or finds) the DM of a and b.
func dmWith(t *testing.T, a, b *client) string {
	var ch struct {
		ID string `json:"id"`
	}
	a.mustJSON("POST", "/api/v4/channels/direct", []string{a.userID, b.userID}, http.StatusCreated, &ch)
	return ch.ID
}

// postsContaining counts the rows of the posts table in a channel whose message or props hold text.
func postsContaining(t *testing.T, e *env, channelID, text string) int {
	t.Helper()
	require.NotEmpty(t, e.dsn, "MM_DSN is not set")
	db, err := sql.Open("postgres", e.dsn)
	require.NoError(t, err)
	defer db.Close()
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM posts WHERE channelid = $1 AND (message LIKE $2 OR props::text LIKE $2)`,
		channelID, "%"+text+"%").Scan(&n))
	return n
}

// `/msg @bob text` creates its post on the server, from any channel: the plugin's
// MessageWillBePosted refuses it when the DM is encrypted, so no plaintext is stored there.
func TestSlashMsgIntoEncryptedDMStoresNoPlaintext(t *testing.T) {
	w := setup(t)
	dm := dmWith(t, w.owner, w.member)
	r := w.owner.plugin("POST", "/channel/encryption_method?chanID="+dm+"&method=p2p", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	defer w.owner.plugin("POST", "/channel/encryption_method?chanID="+dm+"&method=none", nil)

	for _, cmd := range []string{"/msg @" + w.member.name + " ", "/groupmsg @" + w.member.name + " "} {
		secret := randomName("msg secret ")
		// From a plain channel (the team's), as a client that does not check would send it.
		text := w.owner.command(townSquare(t, w), cmd+secret)
		assert.NotContains(t, text, secret)
		assert.Zero(t, postsContaining(t, w.e, dm, secret), "%s: no plaintext post in the encrypted DM", cmd)
		for _, p := range w.member.channelPosts(dm) {
			assert.NotContains(t, p.Message, secret)
		}
	}

	// The same command into an unencrypted DM posts as usual (the test would pass for nothing otherwise).
	w.owner.plugin("POST", "/channel/encryption_method?chanID="+dm+"&method=none", nil)
	plain := randomName("msg plain ")
	w.owner.command(townSquare(t, w), "/msg @"+w.member.name+" "+plain)
	assert.Equal(t, 1, postsContaining(t, w.e, dm, plain))
}

// Who turned encryption off is recorded by the server and answered to every member.
func TestTurnedOffRecordedOnRealServer(t *testing.T) {
	w := setup(t)
	w.setMethod(t, "p2p")
	// A plain member of the public channel (who has the right to change its properties by default).
	r := w.member.plugin("POST", "/channel/encryption_method?chanID="+w.channelID+"&method=none", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var st struct {
		Method    string `json:"method"`
		TurnedOff *struct {
			UserID   string `json:"user_id"`
			Username string `json:"username"`
			At       int64  `json:"at"`
		} `json:"turned_off"`
	}
	w.owner.plugin("GET", "/channel/status?chanID="+w.channelID, nil).json(t, &st)
	require.Equal(t, "none", st.Method)
	require.NotNil(t, st.TurnedOff)
	assert.Equal(t, w.member.userID, st.TurnedOff.UserID)
	assert.Equal(t, w.member.name, st.TurnedOff.Username)
	assert.Positive(t, st.TurnedOff.At)
	var m struct {
		TurnedOff *struct {
			UserID string `json:"user_id"`
		} `json:"turned_off"`
	}
	w.member.plugin("GET", "/channel/encryption_method?chanID="+w.channelID, nil).json(t, &m)
	require.NotNil(t, m.TurnedOff)
	assert.Equal(t, st.TurnedOff.UserID, m.TurnedOff.UserID)
}
