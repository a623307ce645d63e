package main

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

const commandTrigger = "e2ee"

var subcommands = []struct{ name, help, roleID string }{
	{"help", "Show this help", ""},
	{"start", "Turn on end-to-end encryption in this channel ([--mode p2p|channel]; default by channel size)", ""},
	{"stop", "Turn off end-to-end encryption in this channel", ""},
	{"status", "Show this channel's encryption and who has no key", ""},
	{"history", "Channel-key mode: share every past epoch with new members (on) or not (off)", ""},
	{"show_backup", "Show your GPG-encrypted key backup stored on the server", ""},
	{"init", "Create your encryption key (in the web app)", ""},
	{"import", "Import your private key backup, or a backup of all your keys (in the web app)", ""},
	{"verify", "Compare safety numbers: `verify @user` for one person, `verify` alone lists this channel's members (in the web app)", ""},
	{"migrate", "Copy keys and channel settings from the original E2EE plugin (system admins)", model.SystemAdminRoleId},
}

func e2eeCommand() *model.Command {
	ac := model.NewAutocompleteData(commandTrigger, "[command]", "End-to-end encryption")
	for _, s := range subcommands {
		hint := ""
		if s.name == "verify" {
			hint = "[@user]"
		} else if s.name == "init" {
			hint = "[--force]"
		}
		sub := model.NewAutocompleteData(s.name, hint, s.help)
		sub.RoleID = s.roleID
		ac.AddCommand(sub)
	}
	return &model.Command{
		Trigger:          commandTrigger,
		DisplayName:      botDisplayName,
		Description:      "End-to-end encryption",
		AutoComplete:     true,
		AutoCompleteDesc: "Available commands: help, start, stop, status, history, show_backup, init, import, verify, migrate",
		AutoCompleteHint: "[command]",
		AutocompleteData: ac,
	}
}

func helpText() string {
	var b strings.Builder
	b.WriteString("#### End-to-end encryption (`/e2ee`)\n")
	for _, s := range subcommands {
		fmt.Fprintf(&b, "- `/%s %s`: %s\n", commandTrigger, s.name, s.help)
	}
	return b.String()
}

func ephemeral(text string) *model.CommandResponse {
	return &model.CommandResponse{ResponseType: model.CommandResponseTypeEphemeral, Text: text}
}

// ExecuteCommand handles /e2ee. init and import need the user's browser (keys are made and
// kept there); the web app intercepts them, so reaching the server means it is absent.
func (p *Plugin) ExecuteCommand(_ *plugin.Context, args *model.CommandArgs) (*model.CommandResponse, *model.AppError) {
	fields := strings.Fields(args.Command)
	sub := "help"
	if len(fields) > 1 {
		sub = fields[1]
	}
	switch sub {
	case "help":
		return ephemeral(helpText()), nil
	case "start", "stop":
		method := methodNone
		if sub == "start" {
			m, err := p.startMode(args.ChannelId, fields[2:])
			if err != nil {
				return ephemeral("Cannot change this channel's encryption: " + userMessage(err)), nil
			}
			method = m
		}
		if err := p.changeMethod(args.UserId, args.ChannelId, method); err != nil {
			return ephemeral("Cannot change this channel's encryption: " + userMessage(err)), nil
		}
		return ephemeral("End-to-end encryption is now " + onOff(method) + modeText(method) + " in this channel."), nil
	case "status":
		return ephemeral(p.statusText(args.UserId, args.ChannelId) + "\n\n" + p.bundleStatusText()), nil
	case "history":
		if len(fields) != 3 || (fields[2] != "on" && fields[2] != "off") {
			return ephemeral("Usage: `/e2ee history on|off`"), nil
		}
		if err := p.setHistorySharing(args.UserId, args.ChannelId, fields[2] == "on"); err != nil {
			return ephemeral("Cannot change history sharing: " + userMessage(err)), nil
		}
		if fields[2] == "on" {
			return ephemeral("History sharing is on: members' browsers give new members the keys of every past epoch of this channel."), nil
		}
		return ephemeral("History sharing is off: new members read from the current epoch on."), nil
	case "show_backup":
		backup, err := p.store().getBackup(args.UserId)
		if err != nil {
			return ephemeral("Cannot read your backup: " + userMessage(err)), nil
		}
		if backup == "" {
			return ephemeral("No GPG key backup is stored for you."), nil
		}
		return ephemeral("Your GPG-encrypted key backup (decrypt it with `gpg --decrypt`, then use `/e2ee import` in the web app):\n```\n" + backup + "\n```"), nil
	case "init", "import", "verify":
		return ephemeral("Run this from the web app: `/e2ee " + sub + "` runs in your browser (the Mattermost web or desktop app), where your keys are made and kept. Mobile apps cannot run it."), nil
	case "migrate":
		return ephemeral(p.migrateCommand(args.UserId)), nil
	default:
		return ephemeral("Unknown command `" + sub + "`.\n" + helpText()), nil
	}
}

func onOff(method int) string {
	if method != methodNone {
		return "on"
	}
	return "off"
}

// modeText names the encryption mode for messages.
func modeText(method int) string {
	switch method {
	case methodP2P:
		return " (P2P mode: each message is encrypted for every member)"
	case methodChannel:
		return " (channel-key mode: one key per epoch, renewed on every membership or key change)"
	}
	return ""
}

// startMode: --mode p2p|channel, else P2P below ChannelKeyThreshold members and channel-key from it on.
func (p *Plugin) startMode(channelID string, args []string) (int, error) {
	switch {
	case len(args) == 0:
	case len(args) == 2 && args[0] == "--mode":
		if m, ok := parseMethod(args[1]); ok && m != methodNone {
			return m, nil
		}
		return 0, apiErr(http.StatusBadRequest, "--mode is p2p or channel")
	default:
		return 0, apiErr(http.StatusBadRequest, "usage: /e2ee start [--mode p2p|channel]")
	}
	stats, appErr := p.API.GetChannelStats(channelID)
	if appErr != nil {
		return 0, fmt.Errorf("counting channel members: %w", appErr)
	}
	return p.modeForNewEncryption(nil, int(stats.MemberCount)), nil
}

// userMessage shows typed errors as they are and hides internal ones.
func userMessage(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Message
	}
	if errors.Is(err, errConflict) {
		return err.Error()
	}
	return "internal error, see the server log"
}

func (p *Plugin) statusText(userID, channelID string) string {
	ch, err := p.memberChannel(userID, channelID)
	if err != nil {
		return "Cannot read this channel's encryption: " + userMessage(err)
	}
	m, err := p.store().getMethod(channelID)
	if err != nil {
		return "Cannot read this channel's encryption: " + userMessage(err)
	}
	text := "End-to-end encryption is " + onOff(m) + modeText(m) + " in this channel."
	if m == methodChannel {
		if head, _, err := p.store().getHead(channelID); err == nil && head != nil {
			text += fmt.Sprintf("\nCurrent epoch: %d", head.Epoch)
			if reason := head.staleReason(p.getConfiguration(), model.GetMillis()); reason != "" {
				text += " (to be renewed before the next message: " + reason + ")"
			}
			text += "."
		}
	}
	without, err := p.membersWithoutKey(channelID)
	if err != nil {
		p.API.LogError("E2EE: cannot list members without key", "error", err.Error())
		return text
	}
	if len(without) == 0 {
		text += "\nEvery member has an encryption key."
	} else {
		text += "\nMembers without an encryption key: " + mentionList(without)
	}
	if !p.canChangeMethod(userID, ch) {
		text += "\nYou cannot change it in this channel."
	}
	return text
}

// migrateCommand re-runs the migration from the original plugin on demand; it only adds
// missing data, so running it again is harmless.
func (p *Plugin) migrateCommand(userID string) string {
	if !p.API.HasPermissionTo(userID, model.PermissionManageSystem) {
		return "Only a system admin can run `/e2ee migrate`."
	}
	summary, _, err := p.runOriginalMigration(true)
	if err != nil {
		p.API.LogWarn("E2EE: migration from "+originalName+" failed", "error", err.Error())
		return "Migration from " + originalName + " failed (the database could not be read or the result not recorded); see the server log."
	}
	if summary.Pubkeys.Copied+summary.Channels.Copied > 0 {
		p.ensureStats(true)
	}
	text := "Migration from " + originalName + ": " + summary.String() + ". Data already set here was kept."
	if summary.Failed > 0 {
		text += " Some rows could not be written (see the server log): run `/e2ee migrate` again."
	}
	return text
}
