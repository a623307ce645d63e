package main

import (
	"sync"

	"github.com/mattermost/mattermost/server/public/plugin"
)

// Plugin is the server part of the E2EE plugin.
type Plugin struct {
	plugin.MattermostPlugin

	configurationLock sync.RWMutex
	configuration     *configuration
}

// OnActivate runs when the plugin is enabled.
func (p *Plugin) OnActivate() error {
	return nil
}
