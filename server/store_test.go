package main

import (
	"sync"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStoredMethod(t *testing.T) {
	_, api := newTestPlugin()
	st := store{api: api}
	m, err := st.getMethod(chanID)
	require.NoError(t, err)
	assert.Equal(t, methodNone, m, "absent means none")

	for raw, want := range map[string]int{"0": methodNone, "1": methodP2P, " 1\n": methodP2P, "7": methodP2P, `"p2p"`: methodP2P} {
		api.kv[kvChanMethodPrefix+chanID] = []byte(raw)
		m, err := st.getMethod(chanID)
		require.NoError(t, err)
		assert.Equal(t, want, m, "stored %q", raw)
	}

	// An unknown stored value is overwritten by an explicit choice.
	api.kv[kvChanMethodPrefix+chanID] = []byte("7")
	_, changed, err := st.setMethod(chanID, methodNone)
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, "0", string(api.kv[kvChanMethodPrefix+chanID]))
	_, changed, err = st.setMethod(chanID, methodNone)
	require.NoError(t, err)
	assert.False(t, changed)

	api.kvFail = true
	_, err = st.getMethod(chanID)
	assert.Error(t, err)
}

// Concurrent "start" requests (as on several cluster nodes) announce the change once.
func TestConcurrentModeChangeAnnouncesOnce(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	delete(api.kv, kvChanMethodPrefix+chanID)
	api.perms[aliceID+":"+model.PermissionManagePublicChannelProperties.Id] = true
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, p.changeMethod(aliceID, chanID, methodP2P))
		}()
	}
	wg.Wait()
	assert.Len(t, api.posts, 1)
	assert.Len(t, api.events, 1)
}
