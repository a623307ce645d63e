package main

import (
	"bytes"
	"encoding/gob"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The plugin API carries *model.Config over net/rpc with gob, which does not transmit zero
// values: a false boolean arrives as nil. So GetConfig's nil means "off", and SaveConfig cannot
// switch a setting off (the server fills nil with the default, and resets every other false
// setting to its default as well). This is why the plugin never calls SaveConfig (docs/admin-guide.md).
func TestPluginRPCDropsFalseConfigValues(t *testing.T) {
	cfg := &model.Config{}
	cfg.SetDefaults()
	cfg.ServiceSettings.AllowSyncedDrafts = model.NewPointer(false)
	cfg.ServiceSettings.ScheduledPosts = model.NewPointer(true)
	var wire bytes.Buffer
	require.NoError(t, gob.NewEncoder(&wire).Encode(cfg))
	var got model.Config
	require.NoError(t, gob.NewDecoder(&wire).Decode(&got))
	assert.Nil(t, got.ServiceSettings.AllowSyncedDrafts, "false arrives as nil")
	assert.True(t, *got.ServiceSettings.ScheduledPosts)

	// warnAboutDrafts reads such a configuration: nil is off, no warning.
	p, api := newTestPlugin()
	api.On("GetConfig").Return(&got).Once()
	p.warnAboutDrafts()
	require.Len(t, api.logs, 1)
	assert.Contains(t, api.logs[0], "ScheduledPosts")
}
