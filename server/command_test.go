package main

import (
	"errors"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
)

func run(p *Plugin, userID, command string) string {
	resp, appErr := p.ExecuteCommand(nil, &model.CommandArgs{UserId: userID, ChannelId: chanID, Command: command})
	if appErr != nil {
		return "APPERR " + appErr.Error()
	}
	if resp.ResponseType != model.CommandResponseTypeEphemeral {
		return "NOT EPHEMERAL"
	}
	return resp.Text
}

func TestSlashCommand(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	delete(api.kv, kvChanMethodPrefix+chanID)

	for _, sub := range []string{"help", "start", "stop", "status", "show_backup", "init", "import", "verify"} {
		assert.Contains(t, run(p, aliceID, "/e2ee"), "/e2ee "+sub)
	}
	assert.Contains(t, run(p, aliceID, "/e2ee bogus"), "Unknown command")
	assert.Contains(t, run(p, aliceID, "/e2ee init"), "Run this from the web app")
	assert.Contains(t, run(p, aliceID, "/e2ee import"), "browser")
	assert.Contains(t, run(p, aliceID, "/e2ee verify @bob"), "Run this from the web app")

	assert.Contains(t, run(p, bobID, "/e2ee start"), "permission")
	assert.NotContains(t, api.kv, kvChanMethodPrefix+chanID)
	assert.Contains(t, run(p, "outsideroutsideroutsiderou", "/e2ee status"), "not a member")

	api.perms[aliceID+":"+model.PermissionManagePublicChannelProperties.Id] = true
	assert.Contains(t, run(p, aliceID, "/e2ee start"), "now on")
	assert.Equal(t, "1", string(api.kv[kvChanMethodPrefix+chanID]))
	status := run(p, bobID, "/e2ee status")
	assert.Contains(t, status, "is on")
	assert.Contains(t, status, "@bob, @carol")
	assert.Contains(t, status, "cannot change")
	assert.Contains(t, run(p, aliceID, "/e2ee stop"), "now off")
	assert.Equal(t, "0", string(api.kv[kvChanMethodPrefix+chanID]))
	require.Len(t, api.posts, 2)
	assert.Contains(t, api.posts[1].Message, "@alice turned off")

	assert.Contains(t, run(p, aliceID, "/e2ee show_backup"), "No GPG key backup")
	api.kv[kvBackupPrefix+aliceID] = []byte(armored)
	assert.Contains(t, run(p, aliceID, "/e2ee show_backup"), "-----BEGIN PGP MESSAGE-----")
	assert.Contains(t, run(p, bobID, "/e2ee show_backup"), "No GPG key backup", "only one's own backup")
}

func TestOnActivate(t *testing.T) {
	api := newFakeAPI()
	p := &Plugin{runInBackground: func(f func()) { f() }}
	p.SetAPI(api)
	alice := newTestUser(t)
	reads := 0
	p.originalRows = func() ([]originalRow, error) {
		reads++
		return []originalRow{{Key: kvPubkeyPrefix + aliceID, Value: alice.pub.Marshal()}}, nil
	}
	api.On("GetServerVersion").Return("11.7.0")
	api.On("EnsureBotUser", mock.MatchedBy(func(b *model.Bot) bool {
		return b.Username == "e2ee" && b.DisplayName == "E2EE"
	})).Return("botidbotidbotidbotidbotid1", nil)
	var registered *model.Command
	api.On("RegisterCommand", mock.Anything).Run(func(a mock.Arguments) { registered = a.Get(0).(*model.Command) }).Return(nil)
	on, off := true, false
	api.On("GetConfig").Return(&model.Config{ServiceSettings: model.ServiceSettings{AllowSyncedDrafts: &on, ScheduledPosts: &off}}).Twice()

	require.NoError(t, p.OnActivate())
	<-p.afterActivated // the migration runs after activation
	require.NoError(t, p.OnDeactivate())
	assert.Equal(t, "botidbotidbotidbotidbotid1", p.botUserID)
	require.NotNil(t, registered)
	assert.Equal(t, "e2ee", registered.Trigger)
	assert.True(t, registered.AutoComplete)
	var subs []string
	for _, c := range registered.AutocompleteData.SubCommands {
		subs = append(subs, c.Trigger)
	}
	assert.Equal(t, []string{"help", "start", "stop", "status", "history", "show_backup", "init", "import", "verify", "migrate"}, subs)
	assert.Equal(t, model.SystemAdminRoleId, registered.AutocompleteData.SubCommands[len(subs)-1].RoleID)
	assert.Empty(t, registered.AutocompleteData.SubCommands[0].RoleID)
	// The original plugin's data was copied once and the run recorded.
	assert.Equal(t, string(alice.pub.Marshal()), string(api.kv[kvPubkeyPrefix+aliceID]))
	assert.Contains(t, api.kv, kvMigrationDone)
	require.Len(t, api.logs, 2)
	assert.Contains(t, api.logs[0], "public keys: 1 copied")
	assert.Contains(t, api.logs[1], "AllowSyncedDrafts")

	// With both off, no warning.
	api.logs = nil
	api.On("GetConfig").Return(&model.Config{ServiceSettings: model.ServiceSettings{AllowSyncedDrafts: &off, ScheduledPosts: &off}}).Twice()
	require.NoError(t, p.OnActivate())
	<-p.afterActivated
	require.NoError(t, p.OnDeactivate())
	assert.Empty(t, api.logs)
	assert.Equal(t, 1, reads, "the migration runs once")

	// An unreadable database only warns: activation goes on.
	delete(api.kv, kvMigrationDone)
	p.originalRows = func() ([]originalRow, error) { return nil, errors.New("db down") }
	api.On("GetConfig").Return(&model.Config{ServiceSettings: model.ServiceSettings{AllowSyncedDrafts: &off, ScheduledPosts: &off}}).Twice()
	require.NoError(t, p.OnActivate())
	<-p.afterActivated
	require.NoError(t, p.OnDeactivate())
	require.Len(t, api.logs, 1)
	assert.Contains(t, api.logs[0], "WARN E2EE: migration from the original plugin (com.quarkslab.e2ee / com.quarkslab.mm-e2ee) did not run")
}
