package main

import (
	"encoding/json"
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
	api.kv[kvPubkeyPrefix+aliceID] = alice.pub.marshal()
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
		api.kv[kvPubkeyPrefix+ids[i]] = newTestUser(b).pub.marshal()
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
