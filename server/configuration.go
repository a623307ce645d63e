package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
)

// configuration mirrors settings_schema in plugin.json.
type configuration struct {
	GPGKeyServer        string
	BotCanAlwaysPost    bool
	AlwaysAllowMsgTypes string
	// Channel-key mode (docs/design.md §13): /e2ee start picks it from this many members on;
	// epochs rotate after this many posts or days. Zero or less means the default.
	ChannelKeyThreshold        int
	ChannelKeyRotationMessages int
	ChannelKeyRotationDays     int
	// Encryption policy (docs/design.md §14): off (or empty), when_all_have_keys, always.
	AutoEncryptDirect          string
	AutoEncryptPrivateChannels string
	// RequireEncryption: only a system admin may turn an encrypted channel back to plaintext.
	RequireEncryption bool
}

const (
	defaultChannelKeyThreshold = 50
	defaultRotationMessages    = 1000
	defaultRotationDays        = 7
)

func orDefault(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}

func (c *configuration) channelKeyThreshold() int {
	return orDefault(c.ChannelKeyThreshold, defaultChannelKeyThreshold)
}
func (c *configuration) rotationMessages() int {
	return orDefault(c.ChannelKeyRotationMessages, defaultRotationMessages)
}
func (c *configuration) rotationDays() int {
	return orDefault(c.ChannelKeyRotationDays, defaultRotationDays)
}

// Values of AutoEncryptDirect and AutoEncryptPrivateChannels.
const (
	policyOff             = "off"
	policyWhenAllHaveKeys = "when_all_have_keys"
	policyAlways          = "always"
)

// policyValue reads a policy setting; empty (a server that never saved it) is off.
func policyValue(s string) (string, bool) {
	switch s {
	case "", policyOff:
		return policyOff, true
	case policyWhenAllHaveKeys, policyAlways:
		return s, true
	}
	return "", false
}

// validate reports a setting an admin must fix; the plugin keeps its last good configuration meanwhile.
func (c *configuration) validate() error {
	if c.GPGKeyServer != "" {
		u, err := url.Parse(c.GPGKeyServer)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "hkp" && u.Scheme != "hkps") || u.Host == "" {
			return fmt.Errorf("GPG key server %q is not an http(s) or hkp(s) URL", c.GPGKeyServer)
		}
	}
	for name, v := range map[string]string{"AutoEncryptDirect": c.AutoEncryptDirect, "AutoEncryptPrivateChannels": c.AutoEncryptPrivateChannels} {
		if _, ok := policyValue(v); !ok {
			return fmt.Errorf("%s %q is not one of off, when_all_have_keys, always", name, v)
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

// directPolicy and privatePolicy are the validated policy values.
func (c *configuration) directPolicy() string {
	v, _ := policyValue(c.AutoEncryptDirect)
	return v
}

func (c *configuration) privatePolicy() string {
	v, _ := policyValue(c.AutoEncryptPrivateChannels)
	return v
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
// reported in the server log (and in the admin view) and the previous configuration stays active.
func (p *Plugin) OnConfigurationChange() error {
	c := &configuration{BotCanAlwaysPost: true}
	if err := p.API.LoadPluginConfiguration(c); err != nil {
		p.API.LogError("E2EE: cannot load the plugin configuration", "error", err.Error())
		p.setConfigError(err.Error())
		return nil
	}
	if err := c.validate(); err != nil {
		p.API.LogError("E2EE: invalid plugin configuration, keeping the previous one", "error", err.Error())
		p.setConfigError(err.Error())
		return nil
	}
	p.setConfiguration(c)
	p.setConfigError("")
	return nil
}

// setConfigError records why the last configuration was refused ("" when it was accepted).
// Every server of a cluster reads the same configuration, so each holds the same value.
func (p *Plugin) setConfigError(msg string) {
	p.configurationLock.Lock()
	defer p.configurationLock.Unlock()
	p.configError = msg
}

func (p *Plugin) getConfigError() string {
	p.configurationLock.RLock()
	defer p.configurationLock.RUnlock()
	return p.configError
}

// ConfigurationWillBeSaved refuses a save that changes this plugin's settings to invalid
// values, so that the admin sees why in the System Console. Saves that leave our settings as
// they were pass even if those are invalid (another plugin's save must not be blocked).
func (p *Plugin) ConfigurationWillBeSaved(newCfg *model.Config) (*model.Config, error) {
	if newCfg == nil {
		return nil, nil
	}
	newSettings := newCfg.PluginSettings.Plugins[manifestID]
	if cur := p.API.GetConfig(); cur != nil && reflect.DeepEqual(cur.PluginSettings.Plugins[manifestID], newSettings) {
		return nil, nil
	}
	c, err := configurationFromMap(newSettings)
	if err == nil {
		err = c.validate()
	}
	if err != nil {
		return nil, &model.AppError{
			Id: "plugin.e2ee.invalid_configuration", Where: "E2EE", StatusCode: http.StatusBadRequest,
			Message: "End-to-End Encryption: " + err.Error(), SkipTranslation: true,
		}
	}
	return nil, nil
}

// configurationFromMap reads settings as the server stores them (keys are lower-cased).
func configurationFromMap(settings map[string]any) (*configuration, error) {
	c := &configuration{BotCanAlwaysPost: true}
	if settings == nil {
		return c, nil
	}
	raw, err := json.Marshal(settings)
	if err != nil {
		return nil, err
	}
	// encoding/json matches field names case-insensitively, like LoadPluginConfiguration.
	if err := json.Unmarshal(raw, c); err != nil {
		return nil, fmt.Errorf("the settings cannot be read: %w", err)
	}
	return c, nil
}
