package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

const commandTrigger = "e2ee"

var subcommands = []struct{ name, help, roleID string }{
	{"help", "Show this help", ""},
	{"start", "Turn on end-to-end encryption in this channel", ""},
	{"stop", "Turn off end-to-end encryption in this channel", ""},
	{"status", "Show this channel's encryption and who has no key", ""},
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
		AutoCompleteDesc: "Available commands: help, start, stop, status, show_backup, init, import, verify, migrate",
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
		method := methodP2P
		if sub == "stop" {
			method = methodNone
		}
		if err := p.changeMethod(args.UserId, args.ChannelId, method); err != nil {
			return ephemeral("Cannot change this channel's encryption: " + userMessage(err)), nil
		}
		return ephemeral("End-to-end encryption is now " + onOff(method) + " in this channel."), nil
	case "status":
		return ephemeral(p.statusText(args.UserId, args.ChannelId) + "\n\n" + p.bundleStatusText()), nil
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
	if method == methodP2P {
		return "on"
	}
	return "off"
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
	text := "End-to-end encryption is " + onOff(m) + " in this channel."
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
