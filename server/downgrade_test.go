package main

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTurningEncryptionOffIsRecordedAndReported(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	dm := model.GetDMNameFromIds(aliceID, bobID)[:26]
	api.addChannel(dm, model.ChannelTypeDirect, aliceID, bobID)

	// Never turned off: no record in either answer.
	code, body := call(p, aliceID, "GET", "/api/v1/channel/encryption_method?chanID="+dm, "")
	require.Equal(t, http.StatusOK, code, body)
	assert.NotContains(t, body, "turned_off")

	code, _ = call(p, aliceID, "POST", "/api/v1/channel/encryption_method?chanID="+dm+"&method=p2p", "")
	require.Equal(t, http.StatusOK, code)
	assert.NotContains(t, api.kv, kvTurnedOffPrefix+dm, "turning it on records nothing")

	before := model.GetMillis()
	code, _ = call(p, bobID, "POST", "/api/v1/channel/encryption_method?chanID="+dm+"&method=none", "")
	require.Equal(t, http.StatusOK, code)
	var stored TurnedOff
	require.NoError(t, json.Unmarshal(api.kv[kvTurnedOffPrefix+dm], &stored))
	assert.Equal(t, bobID, stored.UserID)
	assert.Equal(t, "bob", stored.Username)
	assert.GreaterOrEqual(t, stored.At, before)

	for _, path := range []string{"/api/v1/channel/encryption_method?chanID=" + dm, "/api/v1/channel/status?chanID=" + dm} {
		code, body = call(p, aliceID, "GET", path, "")
		require.Equal(t, http.StatusOK, code, body)
		assert.Equal(t, "none", body["method"])
		off, ok := body["turned_off"].(map[string]any)
		require.True(t, ok, "%s answers turned_off: %v", path, body)
		assert.Equal(t, bobID, off["user_id"])
		assert.Equal(t, "bob", off["username"])
		assert.Equal(t, float64(stored.At), off["at"])
	}

	// Setting "none" again is no change: the record keeps the real change.
	api.kv[kvTurnedOffPrefix+dm] = []byte(`{"user_id":"` + bobID + `","username":"bob","at":5}`)
	code, _ = call(p, aliceID, "POST", "/api/v1/channel/encryption_method?chanID="+dm+"&method=none", "")
	require.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"user_id":"`+bobID+`","username":"bob","at":5}`, string(api.kv[kvTurnedOffPrefix+dm]))

	// Encrypted again: the old record is not reported.
	code, _ = call(p, aliceID, "POST", "/api/v1/channel/encryption_method?chanID="+dm+"&method=p2p", "")
	require.Equal(t, http.StatusOK, code)
	_, body = call(p, aliceID, "GET", "/api/v1/channel/encryption_method?chanID="+dm, "")
	assert.Equal(t, "p2p", body["method"])
	assert.NotContains(t, body, "turned_off")
}

func TestTurnedOffRecordUnreadableIsIgnored(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	api.kv[kvChanMethodPrefix+chanID] = []byte("0")
	for _, bad := range []string{`not json`, `{"user_id":"x","at":5}`, `{"user_id":"` + bobID + `","at":0}`} {
		api.kv[kvTurnedOffPrefix+chanID] = []byte(bad)
		code, body := call(p, aliceID, "GET", "/api/v1/channel/encryption_method?chanID="+chanID, "")
		require.Equal(t, http.StatusOK, code, body)
		assert.NotContains(t, body, "turned_off", bad)
	}
}
