//go:build integration

package integration

import (
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pluginPID finds the plugin's process among the server's (mm-up starts the server in its own
// process group, and the plugin runs from the plugin directory of this worktree's server).
func pluginPID(t *testing.T, e *env) int {
	t.Helper()
	pgid, dir := os.Getenv("MM_PID"), os.Getenv("MM_PLUGIN_DIR")
	require.NotEmpty(t, pgid, "MM_PID is not set (source .mattermost/env)")
	require.NotEmpty(t, dir, "MM_PLUGIN_DIR is not set (source .mattermost/env)")
	out, err := exec.Command("pgrep", "-g", pgid, "-f", dir+"/"+e.pluginID+"/server/dist/").Output()
	require.NoError(t, err, "no plugin process found")
	fields := strings.Fields(string(out))
	require.Len(t, fields, 1, "one plugin process: %q", out)
	pid, err := strconv.Atoi(fields[0])
	require.NoError(t, err)
	return pid
}

// insertBurnOnRead stores a burn-on-read post as a licensed server does (its text in
// TemporaryPosts, the Posts row empty): this server has no licence, so the REST API refuses it.
func insertBurnOnRead(t *testing.T, e *env, channelID, userID, text string) string {
	t.Helper()
	db, err := sql.Open("postgres", e.dsn)
	require.NoError(t, err)
	defer db.Close()
	id := randomName("bor")
	id += strings.Repeat("x", 26-len(id))
	now := time.Now().UnixMilli()
	_, err = db.Exec(`INSERT INTO Posts (Id, CreateAt, UpdateAt, EditAt, DeleteAt, IsPinned, UserId, ChannelId, RootId, OriginalId,
		Message, Type, Props, Hashtags, Filenames, FileIds, HasReactions, RemoteId)
		VALUES ($1, $2, $2, 0, 0, false, $3, $4, '', '', '', 'burn_on_read', $5, '', '[]', '[]', false, '')`,
		id, now, userID, channelID, fmt.Sprintf(`{"expire_at": %d, "read_duration": 600000}`, now+3600000))
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO TemporaryPosts (PostId, Type, ExpireAt, Message, FileIds) VALUES ($1, 'burn_on_read', $2, $3, '[]')`, id, now+3600000, text)
	require.NoError(t, err)
	return id
}

func countRows(t *testing.T, e *env, query string, args ...any) int {
	t.Helper()
	db, err := sql.Open("postgres", e.dsn)
	require.NoError(t, err)
	defer db.Close()
	var n int
	require.NoError(t, db.QueryRow(query, args...).Scan(&n))
	return n
}

// TestBurnOnReadRefusedOrRemoved: this unlicensed server refuses the type itself; a
// burn-on-read post stored anyway (as a licensed server stores it, skipping every plugin hook)
// is removed by the sweep, its plaintext with it.
func TestBurnOnReadRefusedOrRemoved(t *testing.T) {
	w := setup(t)
	channelID := w.newEncryptedChannel(t, "Burn on read")
	r := w.member.createPost(post{ChannelID: channelID, Message: "burn this secret", Type: "burn_on_read"})
	assert.Equal(t, http.StatusNotImplemented, r.status, "an unlicensed server refuses burn-on-read: %s", r.body)

	id := insertBurnOnRead(t, w.e, channelID, w.member.userID, "burn-on-read plaintext")
	// A restart of the plugin runs the activation sweep (the periodic one runs every 5 min).
	w.admin.mustJSON("POST", "/api/v4/plugins/"+w.e.pluginID+"/disable", nil, http.StatusOK, nil)
	w.admin.mustJSON("POST", "/api/v4/plugins/"+w.e.pluginID+"/enable", nil, http.StatusOK, nil)
	eventually(t, 30*time.Second, func() bool {
		return countRows(t, w.e, `SELECT COUNT(*) FROM Posts WHERE Id = $1`, id) == 0
	}, "the burn-on-read post is still there")
	assert.Equal(t, 0, countRows(t, w.e, `SELECT COUNT(*) FROM TemporaryPosts WHERE PostId = $1`, id), "its text is gone too")
}

// TestCrashedPluginWindowIsSwept: with the plugin process killed, the server runs no hook and
// stores plaintext in an encrypted channel until its health check restarts the plugin. The
// activation sweep then removes what got in. Prints the figures docs/design.md records.
func TestCrashedPluginWindowIsSwept(t *testing.T) {
	w := setup(t)
	channelID := w.newEncryptedChannel(t, "Crash window")
	// The plugin is up: plaintext is refused.
	r := w.member.createPost(post{ChannelID: channelID, Message: "refused while up"})
	require.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)

	pid := pluginPID(t, w.e)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	killed := time.Now()

	var accepted []string
	var refusedAt time.Time
	for i := 0; time.Since(killed) < 3*time.Minute; i++ {
		r := w.member.createPost(post{ChannelID: channelID, Message: fmt.Sprintf("plaintext %d while the plugin is down", i)})
		if r.status == http.StatusCreated {
			var p post
			r.json(t, &p)
			accepted = append(accepted, p.ID)
		} else if r.status == http.StatusBadRequest && strings.Contains(string(r.body), "end-to-end encrypted") {
			refusedAt = time.Now()
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	require.False(t, refusedAt.IsZero(), "the plugin did not come back within 3 minutes (after three crashes within an hour the server stops restarting it: restart the server)")
	window := refusedAt.Sub(killed)
	require.NotEmpty(t, accepted, "nothing got in: the window was not measured")

	remaining := func() int {
		n := 0
		for _, id := range accepted {
			if w.member.do("GET", "/api/v4/posts/"+id, nil).status == http.StatusOK {
				n++
			}
		}
		return n
	}
	eventually(t, 60*time.Second, func() bool { return remaining() == 0 }, "the sweep left plaintext posts in the channel")
	swept := time.Since(killed)
	for _, p := range w.member.channelPosts(channelID) {
		assert.NotContains(t, p.Message, "while the plugin is down")
	}
	// The server's delete only marks a row: the sweep blanks the text of the rows it removed.
	assert.Zero(t, countRows(t, w.e, `SELECT COUNT(*) FROM Posts WHERE ChannelId = $1 AND Message LIKE '%while the plugin is down%'`, channelID),
		"the database still holds the removed plaintext")

	// The author was told by the bot in a direct message, which does not quote the text.
	var dms []struct {
		ID string `json:"id"`
	}
	w.member.mustJSON("GET", "/api/v4/users/me/channels", nil, http.StatusOK, &dms)
	told := false
	for _, dm := range dms {
		for _, p := range w.member.channelPosts(dm.ID) {
			if strings.Contains(p.Message, "were removed") && strings.Contains(p.Message, "Crash window") {
				told = true
				assert.NotContains(t, p.Message, "while the plugin is down")
			}
		}
	}
	assert.True(t, told, "no direct message from the bot")

	t.Logf("plugin killed: no enforcement for %.1f s (until the health check restarted it); %d plaintext posts stored in that window; %d removed by the activation sweep, %.1f s after the kill",
		window.Seconds(), len(accepted), len(accepted), swept.Seconds())
}
