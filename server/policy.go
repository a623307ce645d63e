package main

import (
	"fmt"
	"net/http"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// Encryption policy (docs/design.md §14): the admin's AutoEncryptDirect and
// AutoEncryptPrivateChannels settings turn encryption on by themselves, at a channel's creation
// and when the last member without a key registers one; RequireEncryption keeps it on.
// The policy only sets channels whose mode nobody set yet (no KV entry), so it never undoes
// a member's or admin's explicit choice.

// kvPolicyPendingPrefix marks a private channel created while AutoEncryptPrivateChannels was
// when_all_have_keys and some member had no key: only such channels are turned on later.
const kvPolicyPendingPrefix = "policy_pending:"

// policySetting names the setting that covers a channel type and its value ("" : none).
func (c *configuration) policyFor(t model.ChannelType) (setting, value string) {
	switch t {
	case model.ChannelTypeDirect, model.ChannelTypeGroup:
		return "AutoEncryptDirect", c.directPolicy()
	case model.ChannelTypePrivate:
		return "AutoEncryptPrivateChannels", c.privatePolicy()
	}
	return "", policyOff
}

// withBot: a direct or group message with a bot is left alone, since a bot has no key and
// could not read what its correspondents would then have to encrypt (slash-command and
// integration bots answer in DMs). Private channels follow the policy; bots may still post
// there while BotCanAlwaysPost is on.
func (p *Plugin) withBot(ch *model.Channel) (bool, error) {
	if !isDirect(ch.Type) {
		return false, nil
	}
	members, appErr := p.API.GetChannelMembers(ch.Id, 0, membersPerPage)
	if appErr != nil {
		return false, fmt.Errorf("listing channel members: %w", appErr)
	}
	ids := make([]string, 0, len(members))
	for _, m := range members {
		ids = append(ids, m.UserId)
	}
	users, appErr := p.API.GetUsersByIds(ids)
	if appErr != nil {
		return false, fmt.Errorf("reading channel members: %w", appErr)
	}
	for _, u := range users {
		if u.IsBot {
			return true, nil
		}
	}
	return false, nil
}

// modeForNewEncryption chooses the mode the policy turns a channel on with: channel-key mode
// from ChannelKeyThreshold members on, P2P below (as /e2ee start without --mode).
func (p *Plugin) modeForNewEncryption(_ *model.Channel, members int) int {
	if members >= p.getConfiguration().channelKeyThreshold() {
		return methodChannel
	}
	return methodP2P
}

// ChannelHasBeenCreated applies the policy to a new DM, group message or private channel.
func (p *Plugin) ChannelHasBeenCreated(_ *plugin.Context, ch *model.Channel) {
	if ch == nil {
		return
	}
	if err := p.applyCreationPolicy(ch); err != nil {
		p.API.LogError("E2EE: cannot apply the encryption policy to a new channel", "channel_id", ch.Id, "error", err.Error())
	}
}

func (p *Plugin) applyCreationPolicy(ch *model.Channel) error {
	setting, value := p.getConfiguration().policyFor(ch.Type)
	if value == policyOff {
		return nil
	}
	if skip, err := p.withBot(ch); err != nil || skip {
		return err
	}
	switch value {
	case policyAlways:
		_, err := p.policyEncrypt(ch, setting, value)
		return err
	case policyWhenAllHaveKeys:
		without, err := p.membersWithoutKey(ch.Id)
		if err != nil {
			return err
		}
		if len(without) == 0 {
			_, err := p.policyEncrypt(ch, setting, value)
			return err
		}
		if ch.Type != model.ChannelTypePrivate {
			return nil // DMs and GMs are found again through their members when they push a key
		}
		if appErr := p.API.KVSet(kvPolicyPendingPrefix+ch.Id, []byte(value)); appErr != nil {
			return fmt.Errorf("marking the channel for the policy: %w", appErr)
		}
		// A member may have pushed a key before the mark was written: check once more.
		return p.encryptIfQualifies(ch)
	}
	return nil
}

// policyEncrypt turns on encryption in a channel whose mode is unset, and tells its members
// which setting did it. done is false when the channel already had a mode.
func (p *Plugin) policyEncrypt(ch *model.Channel, setting, value string) (done bool, err error) {
	members := 0
	if stats, appErr := p.API.GetChannelStats(ch.Id); appErr == nil {
		members = int(stats.MemberCount)
	}
	mode := p.modeForNewEncryption(ch, members)
	done, err = p.store().setMethodIfUnset(ch.Id, mode)
	if err != nil || !done {
		return done, err
	}
	p.methodChanged(ch, methodNone, mode)
	p.markChannelEncrypted(ch.Id, model.GetMillis())
	if ch.Type == model.ChannelTypePrivate {
		if appErr := p.API.KVDelete(kvPolicyPendingPrefix + ch.Id); appErr != nil {
			p.API.LogWarn("E2EE: cannot clear the policy mark of a channel", "channel_id", ch.Id, "error", appErr.Error())
		}
	}
	p.publishMethod(ch.Id, mode)
	msg := fmt.Sprintf("End-to-end encryption was turned on in this channel by the server's policy (%s = %s). New messages are encrypted in the browser; the server stores only ciphertext.", setting, value)
	if without, err := p.membersWithoutKey(ch.Id); err == nil && len(without) > 0 {
		msg += "\nMembers without an encryption key (they cannot read new messages until they set one up with `/e2ee init`): " + mentionList(without)
	}
	p.botPost(ch.Id, msg)
	return true, nil
}

// encryptIfQualifies turns a channel on when the policy covers it, its mode is unset and every
// member now has a key.
func (p *Plugin) encryptIfQualifies(ch *model.Channel) error {
	if ch.DeleteAt != 0 {
		return nil
	}
	setting, value := p.getConfiguration().policyFor(ch.Type)
	if value != policyWhenAllHaveKeys {
		return nil
	}
	st := p.store()
	if ch.Type == model.ChannelTypePrivate {
		mark, appErr := p.API.KVGet(kvPolicyPendingPrefix + ch.Id)
		if appErr != nil {
			return fmt.Errorf("reading the channel's policy mark: %w", appErr)
		}
		if mark == nil {
			return nil // created before the policy, or already decided
		}
	}
	unset, err := st.methodUnset(ch.Id)
	if err != nil || !unset {
		return err
	}
	if skip, err := p.withBot(ch); err != nil || skip {
		return err
	}
	without, err := p.membersWithoutKey(ch.Id)
	if err != nil || len(without) > 0 {
		return err
	}
	_, err = p.policyEncrypt(ch, setting, value)
	return err
}

// encryptChannelsNowQualifying runs when userID registers her first key: her DMs and group
// messages, and the policy-marked private channels she is in, whose last member without a
// key she was. One API call lists her channels; only candidates cost KV reads.
func (p *Plugin) encryptChannelsNowQualifying(userID string) {
	cfg := p.getConfiguration()
	if cfg.directPolicy() != policyWhenAllHaveKeys && cfg.privatePolicy() != policyWhenAllHaveKeys {
		return
	}
	channels, appErr := p.API.GetChannelsForTeamForUser("", userID, false)
	if appErr != nil {
		if appErr.StatusCode != http.StatusNotFound {
			p.API.LogError("E2EE: cannot list a user's channels for the encryption policy", "user_id", userID, "error", appErr.Error())
		}
		return
	}
	for _, ch := range channels {
		if _, value := cfg.policyFor(ch.Type); value != policyWhenAllHaveKeys {
			continue
		}
		if err := p.encryptIfQualifies(ch); err != nil {
			p.API.LogError("E2EE: cannot apply the encryption policy", "channel_id", ch.Id, "error", err.Error())
		}
	}
}

// keyRegistered runs once after every successful key push that stored a new key (first is
// true when the user had no valid key before): counters, then the policy.
func (p *Plugin) keyRegistered(userID string, first bool) {
	p.countKeyRegistered(first, model.GetMillis())
	if first {
		p.encryptChannelsNowQualifying(userID)
	}
}

// requireEncryptionRefusal is the reason a member may not turn an encrypted channel off.
const requireEncryptionRefusal = "this server requires end-to-end encryption (RequireEncryption): only a system admin can turn it off in a channel"

// checkRequireEncryption refuses turning an encrypted channel to plaintext under
// RequireEncryption, except for system admins.
func (p *Plugin) checkRequireEncryption(userID, channelID string, method int) error {
	if method != methodNone || !p.getConfiguration().RequireEncryption {
		return nil
	}
	if p.API.HasPermissionTo(userID, model.PermissionManageSystem) {
		return nil
	}
	cur, err := p.store().getMethod(channelID)
	if err != nil {
		return err
	}
	if cur == methodNone {
		return nil
	}
	return apiErr(http.StatusForbidden, requireEncryptionRefusal)
}
