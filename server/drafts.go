package main

import (
	"strconv"

	"github.com/mattermost/mattermost/server/public/model"
)

// kvDraftsSaved holds ServiceSettings.AllowSyncedDrafts as the admin had it ("true"/"false")
// before the plugin switched it off; absent while the plugin has changed nothing.
const kvDraftsSaved = "drafts_allow_synced_before"

// applyDraftsSetting switches the server's synced drafts off while DisableSyncedDrafts is on,
// and back to the admin's previous value once it is turned off. Every server of a cluster runs
// it on each configuration change: the saved value is written once (compare-and-set), and
// saving the same configuration twice is harmless.
func (p *Plugin) applyDraftsSetting(disable bool) {
	p.draftsLock.Lock()
	defer p.draftsLock.Unlock()
	cfg := p.API.GetConfig()
	if cfg == nil {
		p.API.LogError("E2EE: cannot read the server configuration to check synced drafts")
		return
	}
	on := cfg.ServiceSettings.AllowSyncedDrafts == nil || *cfg.ServiceSettings.AllowSyncedDrafts
	saved, appErr := p.API.KVGet(kvDraftsSaved)
	if appErr != nil {
		p.API.LogError("E2EE: cannot read the saved synced-drafts setting; changing nothing", "error", appErr.Error())
		return
	}
	if disable {
		if saved == nil {
			// Only the first writer records what the admin had; a later run must not record our own "false".
			if _, appErr := p.API.KVSetWithOptions(kvDraftsSaved, []byte(strconv.FormatBool(on)), model.PluginKVSetOptions{Atomic: true, OldValue: nil}); appErr != nil {
				p.API.LogError("E2EE: cannot save the synced-drafts setting; leaving it unchanged", "error", appErr.Error())
				return
			}
		}
		if on {
			p.setSyncedDrafts(cfg, false, "E2EE: turned off ServiceSettings.AllowSyncedDrafts (plugin setting DisableSyncedDrafts): drafts typed in encrypted channels are no longer stored on the server")
		}
		return
	}
	if saved == nil {
		return
	}
	before := string(saved) == "true"
	if before && !on {
		if !p.setSyncedDrafts(cfg, true, "E2EE: DisableSyncedDrafts turned off: restored ServiceSettings.AllowSyncedDrafts to true, as it was before the plugin changed it") {
			return
		}
	}
	if _, appErr := p.API.KVSetWithOptions(kvDraftsSaved, nil, model.PluginKVSetOptions{Atomic: true, OldValue: saved}); appErr != nil {
		p.API.LogError("E2EE: cannot delete the saved synced-drafts setting", "error", appErr.Error())
	}
}

// setSyncedDrafts saves AllowSyncedDrafts = value and checks that it took (an environment
// variable overrides a saved configuration).
func (p *Plugin) setSyncedDrafts(cfg *model.Config, value bool, logMsg string) bool {
	cfg.ServiceSettings.AllowSyncedDrafts = model.NewPointer(value)
	if appErr := p.API.SaveConfig(cfg); appErr != nil {
		p.API.LogError("E2EE: cannot change ServiceSettings.AllowSyncedDrafts", "error", appErr.Error())
		return false
	}
	if now := p.API.GetConfig(); now != nil && now.ServiceSettings.AllowSyncedDrafts != nil && *now.ServiceSettings.AllowSyncedDrafts != value {
		p.API.LogError("E2EE: ServiceSettings.AllowSyncedDrafts did not change; is it set by the environment variable MM_SERVICESETTINGS_ALLOWSYNCEDDRAFTS?")
		return false
	}
	p.API.LogInfo(logMsg)
	return true
}
