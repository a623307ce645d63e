package main

import (
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
)

// draftsAPI is the fake server plus a configuration that SaveConfig really changes.
type draftsAPI struct {
	*fakeAPI
	cfg   *model.Config
	saves int
	// envForced: AllowSyncedDrafts is set by an environment variable, so saving does not change it.
	envForced *bool
}

func (d *draftsAPI) GetConfig() *model.Config {
	c := d.cfg.Clone()
	if d.envForced != nil {
		c.ServiceSettings.AllowSyncedDrafts = model.NewPointer(*d.envForced)
	}
	return c
}

func (d *draftsAPI) SaveConfig(c *model.Config) *model.AppError {
	d.saves++
	d.cfg = c.Clone()
	return nil
}

func newDraftsPlugin(allow *bool) (*Plugin, *draftsAPI) {
	p, f := newTestPlugin()
	cfg := &model.Config{}
	cfg.SetDefaults()
	cfg.ServiceSettings.AllowSyncedDrafts = allow
	d := &draftsAPI{fakeAPI: f, cfg: cfg}
	p.SetAPI(d)
	p.async = func(fn func()) { fn() }
	return p, d
}

func allowed(d *draftsAPI) bool {
	return d.cfg.ServiceSettings.AllowSyncedDrafts == nil || *d.cfg.ServiceSettings.AllowSyncedDrafts
}

func loadSettings(d *draftsAPI, disable bool) {
	d.On("LoadPluginConfiguration", mock.Anything).Run(func(args mock.Arguments) {
		args.Get(0).(*configuration).DisableSyncedDrafts = disable
	}).Return(nil).Once()
}

func TestDisableSyncedDraftsSwitchesOffAndRestores(t *testing.T) {
	p, d := newDraftsPlugin(model.NewPointer(true))

	// Default settings (the admin never saved the plugin's): the configuration change that
	// comes with each activation turns synced drafts off.
	d.On("LoadPluginConfiguration", mock.Anything).Return(nil).Once()
	require.NoError(t, p.OnConfigurationChange())
	assert.True(t, p.getConfiguration().DisableSyncedDrafts, "on by default")
	assert.False(t, allowed(d))
	assert.Equal(t, "true", string(d.kv[kvDraftsSaved]), "the admin's value is remembered")
	assert.Contains(t, strings.Join(d.logs, "\n"), "INFO E2EE: turned off ServiceSettings.AllowSyncedDrafts")

	// Idempotent: another run (another server of the cluster, or the change we caused) saves nothing.
	saves := d.saves
	p.applyDraftsSetting(true)
	assert.Equal(t, saves, d.saves)
	assert.Equal(t, "true", string(d.kv[kvDraftsSaved]), "our own false is never recorded as the admin's")

	// The admin turns it on again by hand while the setting is on: switched off again.
	d.cfg.ServiceSettings.AllowSyncedDrafts = model.NewPointer(true)
	p.applyDraftsSetting(true)
	assert.False(t, allowed(d))
	assert.Equal(t, "true", string(d.kv[kvDraftsSaved]))

	// The admin turns DisableSyncedDrafts off: back to what it was, and the record is gone.
	loadSettings(d, false)
	require.NoError(t, p.OnConfigurationChange())
	assert.True(t, allowed(d))
	assert.NotContains(t, d.kv, kvDraftsSaved)
	assert.Contains(t, strings.Join(d.logs, "\n"), "INFO E2EE: DisableSyncedDrafts turned off: restored")

	// Off and nothing remembered: the plugin leaves the server's setting alone.
	saves = d.saves
	d.cfg.ServiceSettings.AllowSyncedDrafts = model.NewPointer(false)
	p.applyDraftsSetting(false)
	assert.Equal(t, saves, d.saves)
	assert.False(t, allowed(d))
}

func TestDisableSyncedDraftsKeepsAnAdminsOff(t *testing.T) {
	p, d := newDraftsPlugin(model.NewPointer(false))
	p.applyDraftsSetting(true)
	assert.Equal(t, 0, d.saves, "already off: nothing to save")
	assert.Equal(t, "false", string(d.kv[kvDraftsSaved]))
	p.applyDraftsSetting(false)
	assert.Equal(t, 0, d.saves, "restoring false to false saves nothing")
	assert.False(t, allowed(d))
	assert.NotContains(t, d.kv, kvDraftsSaved)
}

func TestDisableSyncedDraftsRecordWrittenOnce(t *testing.T) {
	// Another server recorded the admin's value first: ours must not overwrite it.
	p, d := newDraftsPlugin(model.NewPointer(false))
	d.kv[kvDraftsSaved] = []byte("true")
	p.applyDraftsSetting(true)
	assert.Equal(t, "true", string(d.kv[kvDraftsSaved]))
	p.applyDraftsSetting(false)
	assert.True(t, allowed(d), "restores the first recorded value")
}

func TestDisableSyncedDraftsFailuresChangeNothing(t *testing.T) {
	p, d := newDraftsPlugin(model.NewPointer(true))
	d.kvFail = true
	p.applyDraftsSetting(true)
	assert.True(t, allowed(d), "without a saved value the setting is not changed")
	assert.Equal(t, 0, d.saves)
	assert.Contains(t, strings.Join(d.logs, "\n"), "ERROR E2EE: cannot read the saved synced-drafts setting")

	// Forced on by the environment: reported, and the saved value is kept for a later restore.
	p, d = newDraftsPlugin(model.NewPointer(true))
	d.envForced = model.NewPointer(true)
	p.applyDraftsSetting(true)
	assert.Contains(t, strings.Join(d.logs, "\n"), "MM_SERVICESETTINGS_ALLOWSYNCEDDRAFTS")
	assert.Equal(t, "true", string(d.kv[kvDraftsSaved]))
}
