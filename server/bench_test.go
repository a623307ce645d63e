package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
)

func benchPost(b *testing.B, mk func(*testUser, messageContext) map[string]any) {
	p, api := newTestPlugin()
	alice := newTestUser(b)
	api.addUser(aliceID, "alice", false)
	api.kv[kvPubkeyPrefix+aliceID] = alice.pub.Marshal()
	api.kv[kvChanMethodPrefix+chanID] = []byte("1")
	post := encryptedPost(mk(alice, messageContext{ChannelID: chanID, UserID: aliceID}))
	b.ReportAllocs()
	for b.Loop() {
		if _, reason := p.MessageWillBePosted(nil, post); reason != "" {
			b.Fatal(reason)
		}
	}
}

func BenchmarkMessageWillBePostedV1(b *testing.B) {
	benchPost(b, func(u *testUser, _ messageContext) map[string]any { return u.v1Message(b, 10) })
}

func BenchmarkMessageWillBePostedV2(b *testing.B) {
	benchPost(b, func(u *testUser, c messageContext) map[string]any { return u.v2Message(b, c, 10) })
}

func BenchmarkMessageWillBePostedV2With500Recipients(b *testing.B) {
	benchPost(b, func(u *testUser, c messageContext) map[string]any { return u.v2Message(b, c, 500) })
}

// BenchmarkGetPubkeys1000 measures POST /pubkey/get for 1000 users with keys (in-process KV;
// on a real server each KVGet is also an RPC and a database read).
func BenchmarkGetPubkeys1000(b *testing.B) {
	p, api := newTestPlugin()
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = model.NewId()
		api.kv[kvPubkeyPrefix+ids[i]] = newTestUser(b).pub.Marshal()
	}
	body, _ := json.Marshal(map[string]any{"userIds": ids})
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/pubkey/get", strings.NewReader(string(body)))
		req.Header.Set("Mattermost-User-Id", aliceID)
		w := httptest.NewRecorder()
		p.ServeHTTP(nil, w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Body.String())
		}
	}
}

// adminStatsFixture: 10,000 users with a key (100 of them deactivated) and 5,000 encrypted
// channels (a third DMs) in KV, counters built by a recount as at the first activation.
func adminStatsFixture(b *testing.B) *Plugin {
	p, api := newTestPlugin()
	api.On("GetConfig").Return(&model.Config{})
	key := newTestUser(b).pub.Marshal()
	for i := range 10000 {
		id := fmt.Sprintf("user%022d", i)
		u := api.addUser(id, fmt.Sprintf("u%d", i), false)
		if i%100 == 0 {
			u.DeleteAt = 1
		}
		api.kv[kvPubkeyPrefix+id] = key
		api.kv[kvHistoryPrefix+id] = []byte(fmt.Sprintf(`[{"pubkey":%s,"since":%d}]`, key, model.GetMillis()-int64(i)*60000))
	}
	for i := range 5000 {
		id := fmt.Sprintf("chan%022d", i)
		typ := model.ChannelTypeOpen
		if i%3 == 0 {
			typ = model.ChannelTypeDirect
		}
		api.addChannel(id, typ)
		api.kv[kvChanMethodPrefix+id] = []byte("1")
	}
	// Count active users by listing them (the fallback without database access), the slow path.
	p.activeUsersCount = nil
	if _, err := p.recountStats(); err != nil {
		b.Fatal(err)
	}
	api.admins[aliceID] = true
	return p
}

// BenchmarkAdminStats measures GET /admin/stats with 10,000 users and 5,000 encrypted channels:
// the counters make it independent of the number of keys and channels. "sql" counts active
// users as with database access (one query, stubbed here); "listed" pages through the users
// (the fallback without it; in-process, so RPC costs are not included).
func BenchmarkAdminStats(b *testing.B) {
	for _, mode := range []string{"sql", "listed"} {
		b.Run(mode, func(b *testing.B) {
			p := adminStatsFixture(b)
			if mode == "sql" {
				p.activeUsersCount = func() (int, error) { return 9900, nil }
			}
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, "/api/v1/admin/stats", nil)
				req.Header.Set("Mattermost-User-Id", aliceID)
				w := httptest.NewRecorder()
				p.ServeHTTP(nil, w, req)
				if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"active_users_with_key":9900`) {
					b.Fatal(w.Code, w.Body.String())
				}
			}
		})
	}
}

// BenchmarkAdminStatsRecount measures the full recount (first activation, after a migration,
// or on an admin's request) over the same data.
func BenchmarkAdminStatsRecount(b *testing.B) {
	p := adminStatsFixture(b)
	b.ReportAllocs()
	for b.Loop() {
		d, err := p.recountStats()
		if err != nil || d.KeyHolders != 10000 || d.Channels["p2p"] != 5000 || d.Direct != 1667 {
			b.Fatal(err, d)
		}
	}
}
