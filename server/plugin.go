package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"github.com/mattermost/mattermost/server/public/pluginapi"
)

// Plugin is the server part of the E2EE plugin. It keeps no data in memory beyond the
// configuration and the bot's ID, so every server of a cluster behaves the same.
type Plugin struct {
	plugin.MattermostPlugin

	configurationLock sync.RWMutex
	configuration     *configuration
	configError       string

	botUserID string
	router    http.Handler

	// originalRows replaces the database read of the original plugin's KV in unit tests.
	originalRows func() ([]originalRow, error)
	// activeUsersCount replaces the database count of active users in unit tests.
	activeUsersCount func() (int, error)
	// runInBackground runs slow work off the caller's path (nil: a goroutine); tests run it inline.
	runInBackground func(func())
	// listChangedPosts replaces the sweep's database read in unit tests.
	listChangedPosts changedPosts
	// scrubRemovedPost replaces the sweep's blanking of a removed post's row in unit tests.
	scrubRemovedPost func(postID string) error

	// The activation's background work (sweep.go); in-process only, stopped on deactivation.
	sweepCancel    context.CancelFunc
	sweepDone      chan struct{}
	afterActivated chan struct{} // closed when afterActivation has run
}

const (
	botUsername    = "e2ee"
	botDisplayName = "E2EE"
)

// OnActivate ensures the bot and registers /e2ee, and returns: the server runs no hook until
// it does. The slow rest (copying the original plugin's data, warnings, the sweep of what was
// posted while the plugin was not running) runs after it, in sweep.go.
func (p *Plugin) OnActivate() error {
	activatedAt := model.GetMillis()
	client := pluginapi.NewClient(p.API, p.Driver)
	botID, err := client.Bot.EnsureBot(&model.Bot{
		Username:    botUsername,
		DisplayName: botDisplayName,
		Description: "Announces end-to-end encryption changes and explains refused messages.",
	})
	if err != nil {
		return fmt.Errorf("ensuring the E2EE bot: %w", err)
	}
	p.botUserID = botID
	p.router = p.newRouter()
	if err := p.API.RegisterCommand(e2eeCommand()); err != nil {
		return fmt.Errorf("registering /e2ee: %w", err)
	}
	p.startSweeps(activatedAt)
	return nil
}

// OnDeactivate stops the background work.
func (p *Plugin) OnDeactivate() error {
	p.stopSweeps()
	return nil
}

// warnAboutDrafts: the plugin API has no draft or scheduled-post hooks, so text typed or
// scheduled in an encrypted channel can reach the server in plaintext unless the admin
// turns these features off. Checked at each activation, on the live configuration.
func (p *Plugin) warnAboutDrafts() {
	cfg := p.API.GetConfig()
	if cfg == nil {
		return
	}
	s := cfg.ServiceSettings
	// GetConfig crosses the plugin RPC (gob), which drops false booleans: nil means off.
	if s.AllowSyncedDrafts != nil && *s.AllowSyncedDrafts {
		p.API.LogWarn("E2EE: ServiceSettings.AllowSyncedDrafts is on: drafts typed in encrypted channels are stored on the server in plaintext. Turn it off (System Console > Site Configuration > Posts > Enable server syncing of message drafts) to prevent this.")
	}
	if s.ScheduledPosts != nil && *s.ScheduledPosts {
		p.API.LogWarn("E2EE: ServiceSettings.ScheduledPosts is on: a message scheduled by a client that does not encrypt is stored in plaintext until it is sent (and then refused in an encrypted channel).")
	}
}

func (p *Plugin) store() store { return store{api: p.API} }

// ServeHTTP serves /plugins/<id>/api/v1/...
func (p *Plugin) ServeHTTP(c *plugin.Context, w http.ResponseWriter, r *http.Request) {
	router := p.router
	if router == nil {
		router = p.newRouter()
	}
	router.ServeHTTP(w, r)
}
