package main

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
)

const membersPerPage = 200

// memberChannel returns the channel if userID is a member; otherwise a 403 that does not
// reveal whether the channel exists.
func (p *Plugin) memberChannel(userID, channelID string) (*model.Channel, error) {
	if _, appErr := p.API.GetChannelMember(channelID, userID); appErr != nil {
		if appErr.StatusCode == http.StatusNotFound {
			return nil, apiErr(http.StatusForbidden, "you are not a member of this channel")
		}
		return nil, fmt.Errorf("reading channel membership: %w", appErr)
	}
	ch, appErr := p.API.GetChannel(channelID)
	if appErr != nil {
		return nil, fmt.Errorf("reading the channel: %w", appErr)
	}
	return ch, nil
}

// canChangeMethod: in DMs and group messages the members decide; elsewhere the user needs
// the right to manage the channel's properties (system admins have it).
func (p *Plugin) canChangeMethod(userID string, ch *model.Channel) bool {
	switch ch.Type {
	case model.ChannelTypeDirect, model.ChannelTypeGroup:
		return true
	case model.ChannelTypeOpen:
		return p.API.HasPermissionToChannel(userID, ch.Id, model.PermissionManagePublicChannelProperties) ||
			p.API.HasPermissionTo(userID, model.PermissionManageSystem)
	case model.ChannelTypePrivate:
		return p.API.HasPermissionToChannel(userID, ch.Id, model.PermissionManagePrivateChannelProperties) ||
			p.API.HasPermissionTo(userID, model.PermissionManageSystem)
	}
	return false
}

// changeMethod sets a channel's method after the membership and permission checks, then
// tells the channel (WebSocket event and a bot post) when it really changed.
func (p *Plugin) changeMethod(userID, channelID string, method int) error {
	ch, err := p.memberChannel(userID, channelID)
	if err != nil {
		return err
	}
	if ch.DeleteAt != 0 {
		return apiErr(http.StatusBadRequest, "this channel is archived")
	}
	if !p.canChangeMethod(userID, ch) {
		return apiErr(http.StatusForbidden, "you do not have permission to change this channel's encryption")
	}
	if err := p.checkRequireEncryption(userID, channelID, method); err != nil {
		return err
	}
	prev, changed, err := p.store().setMethod(channelID, method)
	if err != nil || !changed {
		return err
	}
	p.methodChanged(ch, prev, method)
	if method == methodNone {
		p.noteTurnedOff(userID, channelID)
	}
	if method != methodNone {
		p.markChannelEncrypted(channelID, model.GetMillis())
	}
	p.publishMethod(channelID, method)
	p.announceChange(userID, channelID, method)
	return nil
}

// publishMethod tells the channel's clients its new mode.
func (p *Plugin) publishMethod(channelID string, method int) {
	p.API.PublishWebSocketEvent("channelStateChanged", map[string]any{
		"chanID": channelID,
		"method": methodName(method),
	}, &model.WebsocketBroadcast{ChannelId: channelID})
}

// botPost posts msg in the channel as the bot.
func (p *Plugin) botPost(channelID, msg string) {
	if _, appErr := p.API.CreatePost(&model.Post{UserId: p.botUserID, ChannelId: channelID, Message: msg}); appErr != nil {
		p.API.LogWarn("E2EE: cannot announce the channel's encryption change", "channel_id", channelID, "error", appErr.Error())
	}
}

// announceChange posts, as the bot, who changed the mode and who has no key yet.
func (p *Plugin) announceChange(userID, channelID string, method int) {
	who := "someone"
	if u, appErr := p.API.GetUser(userID); appErr == nil {
		who = "@" + u.Username
	}
	var msg string
	if method != methodNone {
		msg = who + " turned on end-to-end encryption" + modeText(method) + " in this channel. New messages are encrypted in the browser; the server stores only ciphertext."
		if without, err := p.membersWithoutKey(channelID); err == nil && len(without) > 0 {
			msg += "\nMembers without an encryption key (they cannot read new messages until they set one up with `/e2ee init`): " + mentionList(without)
		}
	} else {
		msg = who + " turned off end-to-end encryption in this channel. New messages are no longer encrypted."
	}
	p.botPost(channelID, msg)
}

func mentionList(users []*model.User) string {
	names := make([]string, 0, len(users))
	for _, u := range users {
		names = append(names, "@"+u.Username)
	}
	return strings.Join(names, ", ")
}

// membersWithoutKey lists the channel's active human members that have no public key.
func (p *Plugin) membersWithoutKey(channelID string) ([]*model.User, error) {
	st := p.store()
	var without []*model.User
	for page := 0; ; page++ {
		members, appErr := p.API.GetChannelMembers(channelID, page, membersPerPage)
		if appErr != nil {
			return nil, fmt.Errorf("listing channel members: %w", appErr)
		}
		if len(members) == 0 {
			break
		}
		ids := make([]string, 0, len(members))
		for _, m := range members {
			ids = append(ids, m.UserId)
		}
		keys, err := st.getPubkeys(ids)
		if err != nil {
			return nil, err
		}
		var missing []string
		for _, id := range ids {
			if keys[id] == nil {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			users, appErr := p.API.GetUsersByIds(missing)
			if appErr != nil {
				return nil, fmt.Errorf("reading channel members: %w", appErr)
			}
			for _, u := range users {
				if !u.IsBot && u.DeleteAt == 0 {
					without = append(without, u)
				}
			}
		}
		if len(members) < membersPerPage {
			break
		}
	}
	return without, nil
}
