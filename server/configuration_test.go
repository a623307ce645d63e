package main

import (
	"testing"

	"github.com/mattermost/mattermost/server/public/plugin/plugintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
)

func TestConfigurationValidate(t *testing.T) {
	valid := []configuration{
		{},
		{GPGKeyServer: "https://keys.openpgp.org"},
		{GPGKeyServer: "hkp://127.0.0.1:11371", AlwaysAllowMsgTypes: "custom_poll, system_join_channel"},
	}
	for _, c := range valid {
		assert.NoError(t, c.validate(), "%+v", c)
	}
	invalid := []configuration{
		{GPGKeyServer: "ftp://example.org"},
		{GPGKeyServer: "not a url"},
		{AlwaysAllowMsgTypes: "bad type"},
	}
	for _, c := range invalid {
		assert.Error(t, c.validate(), "%+v", c)
	}
	assert.Equal(t, []string{"a", "b"}, (&configuration{AlwaysAllowMsgTypes: " a,,b "}).allowedMsgTypes())
}

func TestOnConfigurationChangeKeepsPreviousOnInvalid(t *testing.T) {
	api := &plugintest.API{}
	p := &Plugin{}
	p.SetAPI(api)

	api.On("LoadPluginConfiguration", mock.Anything).Run(func(args mock.Arguments) {
		args.Get(0).(*configuration).GPGKeyServer = "https://keys.example.org"
	}).Return(nil).Once()
	require.NoError(t, p.OnConfigurationChange())
	assert.Equal(t, "https://keys.example.org", p.getConfiguration().GPGKeyServer)

	api.On("LoadPluginConfiguration", mock.Anything).Run(func(args mock.Arguments) {
		args.Get(0).(*configuration).GPGKeyServer = "ftp://bad"
	}).Return(nil).Once()
	api.On("LogError", mock.Anything, mock.Anything, mock.Anything).Return().Once()
	require.NoError(t, p.OnConfigurationChange())
	assert.Equal(t, "https://keys.example.org", p.getConfiguration().GPGKeyServer, "invalid config must not replace the active one")
	api.AssertExpectations(t)
}
