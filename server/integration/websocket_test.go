//go:build integration

package integration

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type wsEvent struct {
	Event string         `json:"event"`
	Data  map[string]any `json:"data"`
}

// listen opens c's WebSocket and returns its events.
func (c *client) listen(t *testing.T) <-chan wsEvent {
	url := "ws" + strings.TrimPrefix(c.e.site, "http") + "/api/v4/websocket"
	conn, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Authorization": {"Bearer " + c.token}})
	require.NoError(t, err)
	resp.Body.Close()
	t.Cleanup(func() { conn.Close() })
	events := make(chan wsEvent, 100)
	go func() {
		defer close(events)
		for {
			var ev wsEvent
			if err := conn.ReadJSON(&ev); err != nil {
				return
			}
			if ev.Event != "" {
				events <- ev
			}
		}
	}()
	return events
}

func waitEvent(t *testing.T, events <-chan wsEvent, name string, match func(wsEvent) bool) wsEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			require.True(t, ok, "websocket closed while waiting for %s", name)
			if ev.Event == name && match(ev) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event", name)
		}
	}
}

// TestWebSocketEvents: the events the web app listens to, and the ephemeral explanation a
// refused author gets (what mobile users see).
func TestWebSocketEvents(t *testing.T) {
	w := setup(t)
	listener := w.e.newUser(t, w.admin, "itws")
	author := w.e.newUser(t, w.admin, "itwsauthor")
	var ch struct {
		ID string `json:"id"`
	}
	author.mustJSON("POST", "/api/v4/channels", map[string]string{
		"team_id": w.e.teamID, "name": randomName("it-ws-"), "display_name": "Integration WS", "type": "O",
	}, http.StatusCreated, &ch)
	author.mustJSON("POST", "/api/v4/channels/"+ch.ID+"/members", map[string]string{"user_id": listener.userID}, http.StatusCreated, nil)
	listenerEvents := listener.listen(t)
	authorEvents := author.listen(t)
	prefix := "custom_" + w.e.pluginID + "_"

	key, signer := freshKey(t)
	r := author.pushKey(key, signer, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	waitEvent(t, listenerEvents, prefix+"newPubkey", func(ev wsEvent) bool { return ev.Data["userID"] == author.userID })

	r = author.plugin("POST", "/channel/encryption_method?chanID="+ch.ID+"&method=p2p", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	ev := waitEvent(t, listenerEvents, prefix+"channelStateChanged", func(ev wsEvent) bool { return ev.Data["chanID"] == ch.ID })
	assert.Equal(t, "p2p", ev.Data["method"])

	r = author.createPost(post{ChannelID: ch.ID, Message: "plaintext"})
	require.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	ev = waitEvent(t, authorEvents, "ephemeral_message", func(ev wsEvent) bool {
		return strings.Contains(ev.Data["post"].(string), "end-to-end encrypted")
	})
	var eph struct {
		ChannelID string `json:"channel_id"`
		UserID    string `json:"user_id"`
	}
	require.NoError(t, json.Unmarshal([]byte(ev.Data["post"].(string)), &eph))
	assert.Equal(t, ch.ID, eph.ChannelID)
	var bot struct {
		ID string `json:"id"`
	}
	author.mustJSON("GET", "/api/v4/users/username/e2ee", nil, http.StatusOK, &bot)
	assert.Equal(t, bot.ID, eph.UserID, "the explanation comes from the E2EE bot")
}
