package main

import (
	"fmt"
	"net/url"
	"strings"
)

// configuration mirrors settings_schema in plugin.json.
type configuration struct {
	GPGKeyServer        string
	BotCanAlwaysPost    bool
	AlwaysAllowMsgTypes string
}

// validate reports a setting an admin must fix; the plugin keeps its last good configuration meanwhile.
func (c *configuration) validate() error {
	if c.GPGKeyServer != "" {
		u, err := url.Parse(c.GPGKeyServer)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "hkp" && u.Scheme != "hkps") || u.Host == "" {
			return fmt.Errorf("GPG key server %q is not an http(s) or hkp(s) URL", c.GPGKeyServer)
		}
	}
	for _, t := range c.allowedMsgTypes() {
		if strings.ContainsAny(t, " \t/") {
			return fmt.Errorf("post type %q in AlwaysAllowMsgTypes is not a valid post type", t)
		}
	}
	return nil
}

// allowedMsgTypes parses AlwaysAllowMsgTypes.
func (c *configuration) allowedMsgTypes() []string {
	var types []string
	for _, t := range strings.Split(c.AlwaysAllowMsgTypes, ",") {
		if t = strings.TrimSpace(t); t != "" {
			types = append(types, t)
		}
	}
	return types
}

func (c *configuration) clone() *configuration {
	copied := *c
	return &copied
}

// getConfiguration returns the active configuration; never nil.
func (p *Plugin) getConfiguration() *configuration {
	p.configurationLock.RLock()
	defer p.configurationLock.RUnlock()
	if p.configuration == nil {
		return &configuration{BotCanAlwaysPost: true}
	}
	return p.configuration
}

func (p *Plugin) setConfiguration(c *configuration) {
	p.configurationLock.Lock()
	defer p.configurationLock.Unlock()
	p.configuration = c
}

// OnConfigurationChange loads and validates the settings. An invalid value is
// reported in the server log for the admin and the previous configuration stays active.
func (p *Plugin) OnConfigurationChange() error {
	c := &configuration{BotCanAlwaysPost: true}
	if err := p.API.LoadPluginConfiguration(c); err != nil {
		p.API.LogError("E2EE: cannot load the plugin configuration", "error", err.Error())
		return nil
	}
	if err := c.validate(); err != nil {
		p.API.LogError("E2EE: invalid plugin configuration, keeping the previous one", "error", err.Error())
		return nil
	}
	p.setConfiguration(c)
	return nil
}
