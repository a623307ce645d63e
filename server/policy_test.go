package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
)

const (
	dmID   = "dmdmdmdmdmdmdmdmdmdmdmdmdm"
	gmID   = "gmgmgmgmgmgmgmgmgmgmgmgmgm"
	privID = "privprivprivprivprivprivpr"
)

// policySetup: alice has a key, bob and carol have none; the policy is as given.
func policySetup(t *testing.T, direct, private string, require bool) (*Plugin, *fakeAPI) {
	p, api := newTestPlugin()
	api.addUser(aliceID, "alice", false)
	api.addUser(bobID, "bob", false)
	api.addUser(carolID, "carol", false)
	api.kv[kvPubkeyPrefix+aliceID] = newTestUser(t).pub.Marshal()
	cfg := p.getConfiguration().clone()
	cfg.AutoEncryptDirect, cfg.AutoEncryptPrivateChannels, cfg.RequireEncryption = direct, private, require
	p.setConfiguration(cfg)
	return p, api
}

// registerKey stores a new key for userID through the one path every key push takes.
func registerKey(t *testing.T, p *Plugin, userID string) {
	t.Helper()
	u := newTestUser(t)
	proof := proofOf(t, u, userID, getNonce(t, p, userID))
	require.NoError(t, p.pushPubkey(userID, &checkedPush{Key: &u.pub, Proof: mustB64(t, proof)}))
}

func createChannel(p *Plugin, api *fakeAPI, id string, typ model.ChannelType, members ...string) {
	api.addChannel(id, typ, members...)
	p.ChannelHasBeenCreated(nil, api.channels[id])
}

func method(api *fakeAPI, channelID string) string {
	return string(api.kv[kvChanMethodPrefix+channelID])
}

func botPostsIn(api *fakeAPI, channelID string) []string {
	var out []string
	for _, post := range api.posts {
		if post.ChannelId == channelID {
			out = append(out, post.Message)
		}
	}
	return out
}

func TestPolicyOffChangesNothing(t *testing.T) {
	p, api := policySetup(t, "", policyOff, false)
	api.kv[kvPubkeyPrefix+bobID] = newTestUser(t).pub.Marshal()
	createChannel(p, api, dmID, model.ChannelTypeDirect, aliceID, bobID)
	createChannel(p, api, privID, model.ChannelTypePrivate, aliceID)
	registerKey(t, p, carolID)
	assert.Empty(t, method(api, dmID))
	assert.Empty(t, method(api, privID))
	assert.Empty(t, api.posts)
}

func TestPolicyWhenAllHaveKeysAtCreation(t *testing.T) {
	p, api := policySetup(t, policyWhenAllHaveKeys, policyOff, false)
	api.kv[kvPubkeyPrefix+bobID] = newTestUser(t).pub.Marshal()
	createChannel(p, api, dmID, model.ChannelTypeDirect, aliceID, bobID)
	assert.Equal(t, "1", method(api, dmID))
	posts := botPostsIn(api, dmID)
	require.Len(t, posts, 1)
	assert.Contains(t, posts[0], "AutoEncryptDirect = when_all_have_keys")
	assert.Contains(t, api.kv, kvSweepMarkPrefix+dmID, "the sweep starts from the policy's activation")
	assert.NotContains(t, posts[0], "without an encryption key")
	require.Len(t, api.events, 1)
	assert.Equal(t, "channelStateChanged", api.events[0].Event)
	assert.Equal(t, "p2p", api.events[0].Payload["method"])

	// A group message with a keyless member stays plaintext...
	createChannel(p, api, gmID, model.ChannelTypeGroup, aliceID, bobID, carolID)
	assert.Empty(t, method(api, gmID))
	// ...until carol, the last without a key, registers one.
	registerKey(t, p, carolID)
	assert.Equal(t, "1", method(api, gmID))
	require.Len(t, botPostsIn(api, gmID), 1)
	assert.Contains(t, botPostsIn(api, gmID)[0], "AutoEncryptDirect = when_all_have_keys")
	// AutoEncryptPrivateChannels is off: private channels stay as they are.
	createChannel(p, api, privID, model.ChannelTypePrivate, aliceID)
	assert.Empty(t, method(api, privID))
}

func TestPolicyLeavesDirectMessagesWithBotsAlone(t *testing.T) {
	p, api := policySetup(t, policyAlways, policyAlways, false)
	const helperBot = "helperbothelperbothelperbo"
	api.addUser(helperBot, "helper", true)
	createChannel(p, api, dmID, model.ChannelTypeDirect, aliceID, helperBot)
	createChannel(p, api, gmID, model.ChannelTypeGroup, aliceID, bobID, helperBot)
	assert.Empty(t, method(api, dmID), "a DM with a bot stays plaintext: the bot could not read it")
	assert.Empty(t, method(api, gmID))
	createChannel(p, api, privID, model.ChannelTypePrivate, aliceID, helperBot)
	assert.Equal(t, "1", method(api, privID), "private channels follow the policy")

	cfg := p.getConfiguration().clone()
	cfg.AutoEncryptDirect = policyWhenAllHaveKeys
	p.setConfiguration(cfg)
	api.addChannel(otherID, model.ChannelTypeDirect, bobID, helperBot)
	registerKey(t, p, bobID)
	assert.Empty(t, method(api, otherID))
}

func TestPolicyWhenAllHaveKeysWaitsForTheLastMember(t *testing.T) {
	p, api := policySetup(t, policyWhenAllHaveKeys, policyOff, false)
	createChannel(p, api, gmID, model.ChannelTypeGroup, aliceID, bobID, carolID)
	registerKey(t, p, bobID)
	assert.Empty(t, method(api, gmID), "carol still has no key")
	registerKey(t, p, carolID)
	assert.Equal(t, "1", method(api, gmID))
}

func TestPolicyNeverOverridesAnExplicitChoice(t *testing.T) {
	p, api := policySetup(t, policyWhenAllHaveKeys, policyOff, false)
	createChannel(p, api, dmID, model.ChannelTypeDirect, aliceID, bobID)
	// Alice turns it off explicitly before bob has a key: stored "0".
	require.NoError(t, p.changeMethod(aliceID, dmID, methodNone))
	api.kv[kvChanMethodPrefix+dmID] = []byte("0")
	registerKey(t, p, bobID)
	assert.Equal(t, "0", method(api, dmID))
}

func TestPolicyKeyReplacementDoesNotTrigger(t *testing.T) {
	p, api := policySetup(t, policyWhenAllHaveKeys, policyOff, false)
	api.kv[kvPubkeyPrefix+bobID] = newTestUser(t).pub.Marshal()
	api.addChannel(dmID, model.ChannelTypeDirect, aliceID, bobID) // created before the policy: no hook run
	registerKey(t, p, bobID)                                      // bob replaces his key
	assert.Empty(t, method(api, dmID))
}

func TestPolicyAlways(t *testing.T) {
	p, api := policySetup(t, policyAlways, policyAlways, false)
	createChannel(p, api, dmID, model.ChannelTypeDirect, aliceID, bobID)
	assert.Equal(t, "1", method(api, dmID))
	posts := botPostsIn(api, dmID)
	require.Len(t, posts, 1)
	assert.Contains(t, posts[0], "AutoEncryptDirect = always")
	assert.Contains(t, posts[0], "Members without an encryption key")
	assert.Contains(t, posts[0], "@bob")

	createChannel(p, api, privID, model.ChannelTypePrivate, bobID)
	assert.Equal(t, "1", method(api, privID))
	assert.Contains(t, botPostsIn(api, privID)[0], "AutoEncryptPrivateChannels = always")

	// Public channels are never covered.
	createChannel(p, api, otherID, model.ChannelTypeOpen, aliceID)
	assert.Empty(t, method(api, otherID))
}

func TestPolicyPrivateChannelsCreatedUnderThePolicy(t *testing.T) {
	p, api := policySetup(t, policyOff, policyWhenAllHaveKeys, false)
	// Created before the policy: not marked, never turned on by it.
	api.addChannel(otherID, model.ChannelTypePrivate, aliceID, bobID)
	// Created under the policy by bob, who has no key: marked, waits.
	createChannel(p, api, privID, model.ChannelTypePrivate, bobID)
	assert.Empty(t, method(api, privID))
	assert.Contains(t, api.kv, kvPolicyPendingPrefix+privID)
	// Alice joins (she has a key); bob registers his: the last without a key.
	api.members[privID] = append(api.members[privID], aliceID)
	registerKey(t, p, bobID)
	assert.Equal(t, "1", method(api, privID))
	assert.NotContains(t, api.kv, kvPolicyPendingPrefix+privID, "the mark is cleared")
	assert.Contains(t, botPostsIn(api, privID)[0], "AutoEncryptPrivateChannels = when_all_have_keys")
	assert.Empty(t, method(api, otherID), "a channel from before the policy is left alone")

	// A private channel whose creator has a key is on from creation.
	createChannel(p, api, gmID, model.ChannelTypePrivate, aliceID)
	assert.Equal(t, "1", method(api, gmID))
}

func TestPolicyTurnedOffBeforeTheKeyArrives(t *testing.T) {
	p, api := policySetup(t, policyWhenAllHaveKeys, policyWhenAllHaveKeys, false)
	createChannel(p, api, dmID, model.ChannelTypeDirect, aliceID, bobID)
	createChannel(p, api, privID, model.ChannelTypePrivate, bobID)
	cfg := p.getConfiguration().clone()
	cfg.AutoEncryptDirect, cfg.AutoEncryptPrivateChannels = policyOff, policyOff
	p.setConfiguration(cfg)
	registerKey(t, p, bobID)
	assert.Empty(t, method(api, dmID))
	assert.Empty(t, method(api, privID))
}

func TestRequireEncryption(t *testing.T) {
	p, api := policySetup(t, policyOff, policyOff, true)
	api.addChannel(dmID, model.ChannelTypeDirect, aliceID, bobID)
	api.addChannel(privID, model.ChannelTypePrivate, aliceID, carolID)
	api.perms[aliceID+":"+model.PermissionManagePrivateChannelProperties.Id] = true
	api.admins[carolID] = true

	// Turning on is always allowed.
	code, _ := call(p, aliceID, http.MethodPost, "/api/v1/channel/encryption_method?chanID="+dmID+"&method=p2p", "")
	require.Equal(t, http.StatusOK, code)

	// A member cannot turn it off: the API, /e2ee stop (and so the header lock, which calls the API).
	before := snapshot(api)
	code, body := call(p, bobID, http.MethodPost, "/api/v1/channel/encryption_method?chanID="+dmID+"&method=none", "")
	assert.Equal(t, http.StatusForbidden, code)
	assert.Contains(t, body["error"], "RequireEncryption")
	resp, appErr := p.ExecuteCommand(nil, &model.CommandArgs{UserId: bobID, ChannelId: dmID, Command: "/e2ee stop"})
	require.Nil(t, appErr)
	assert.Contains(t, resp.Text, "only a system admin can turn it off")
	assert.Equal(t, before, snapshot(api), "nothing changed")

	// A channel admin of a private channel is refused too; a system admin is not.
	api.kv[kvChanMethodPrefix+privID] = []byte("1")
	code, _ = call(p, aliceID, http.MethodPost, "/api/v1/channel/encryption_method?chanID="+privID+"&method=none", "")
	assert.Equal(t, http.StatusForbidden, code)
	code, _ = call(p, carolID, http.MethodPost, "/api/v1/channel/encryption_method?chanID="+privID+"&method=none", "")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "0", method(api, privID))

	// Without the setting, members may turn it off again.
	cfg := p.getConfiguration().clone()
	cfg.RequireEncryption = false
	p.setConfiguration(cfg)
	code, _ = call(p, bobID, http.MethodPost, "/api/v1/channel/encryption_method?chanID="+dmID+"&method=none", "")
	assert.Equal(t, http.StatusOK, code)
}

func TestPolicyConfigurationValues(t *testing.T) {
	for _, v := range []string{"", policyOff, policyWhenAllHaveKeys, policyAlways} {
		assert.NoError(t, (&configuration{AutoEncryptDirect: v, AutoEncryptPrivateChannels: v}).validate(), v)
	}
	for _, v := range []string{"on", "ALWAYS", "when all have keys", " always"} {
		err := (&configuration{AutoEncryptDirect: v}).validate()
		require.Error(t, err, v)
		assert.Contains(t, err.Error(), "AutoEncryptDirect")
		err = (&configuration{AutoEncryptPrivateChannels: v}).validate()
		require.Error(t, err, v)
		assert.Contains(t, err.Error(), "AutoEncryptPrivateChannels")
	}
	assert.Equal(t, policyOff, (&configuration{}).directPolicy())
}

func TestConfigurationWillBeSaved(t *testing.T) {
	p, api := newTestPlugin()
	current := &model.Config{}
	current.PluginSettings.Plugins = map[string]map[string]any{manifestID: {"autoencryptdirect": "bogus"}}
	api.On("GetConfig").Return(current)

	save := func(settings map[string]any) error {
		cfg := &model.Config{}
		cfg.PluginSettings.Plugins = map[string]map[string]any{manifestID: settings}
		out, err := p.ConfigurationWillBeSaved(cfg)
		assert.Nil(t, out)
		return err
	}
	// Invalid new values are refused with the reason.
	err := save(map[string]any{"autoencryptdirect": "sometimes", "requireencryption": true})
	require.Error(t, err)
	appErr, ok := err.(*model.AppError)
	require.True(t, ok)
	assert.Equal(t, http.StatusBadRequest, appErr.StatusCode)
	assert.Contains(t, appErr.Message, `AutoEncryptDirect "sometimes"`)
	assert.Error(t, save(map[string]any{"autoencryptprivatechannels": "maybe"}))
	assert.Error(t, save(map[string]any{"requireencryption": "yes please"}))
	// Valid values pass; so does a save that leaves our (invalid) settings unchanged.
	assert.NoError(t, save(map[string]any{"autoencryptdirect": "always", "autoencryptprivatechannels": "when_all_have_keys", "requireencryption": true}))
	assert.NoError(t, save(map[string]any{"autoencryptdirect": "bogus"}))
	assert.NoError(t, save(nil))
}

func TestOnConfigurationChangeInvalidPolicyKeepsPrevious(t *testing.T) {
	p, api := newTestPlugin()
	values := map[string]any{"AutoEncryptDirect": "always", "RequireEncryption": true}
	api.On("LoadPluginConfiguration", mock.Anything).Run(func(args mock.Arguments) {
		c := args.Get(0).(*configuration)
		c.AutoEncryptDirect = values["AutoEncryptDirect"].(string)
		c.RequireEncryption = values["RequireEncryption"].(bool)
	}).Return(nil)
	require.NoError(t, p.OnConfigurationChange())
	assert.Equal(t, policyAlways, p.getConfiguration().directPolicy())
	assert.Empty(t, p.getConfigError())

	values["AutoEncryptDirect"], values["RequireEncryption"] = "sometimes", false
	require.NoError(t, p.OnConfigurationChange())
	assert.Equal(t, policyAlways, p.getConfiguration().directPolicy(), "the last good configuration stays active")
	assert.True(t, p.getConfiguration().RequireEncryption)
	assert.Contains(t, p.getConfigError(), `AutoEncryptDirect "sometimes"`)
	assert.Contains(t, strings.Join(api.logs, "\n"), "invalid plugin configuration")

	// The admin view reports it.
	api.admins[aliceID] = true
	api.addUser(aliceID, "alice", false)
	api.On("GetConfig").Return(&model.Config{})
	code, body := call(p, aliceID, http.MethodGet, "/api/v1/admin/stats", "")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body["config_error"], "sometimes")
	assert.Equal(t, "always", body["policy"].(map[string]any)["auto_encrypt_direct"])

	values["AutoEncryptDirect"] = "off"
	require.NoError(t, p.OnConfigurationChange())
	assert.Empty(t, p.getConfigError())
	assert.Equal(t, policyOff, p.getConfiguration().directPolicy())
}

func TestAdminStats(t *testing.T) {
	p, api := policySetup(t, policyWhenAllHaveKeys, policyOff, false)
	api.admins[carolID] = true
	off := false
	api.On("GetConfig").Return(&model.Config{ServiceSettings: model.ServiceSettings{AllowSyncedDrafts: &off}})
	// Counters start from a recount (first activation).
	_, err := p.recountStats()
	require.NoError(t, err)

	code, body := call(p, bobID, http.MethodGet, "/api/v1/admin/stats", "")
	assert.Equal(t, http.StatusForbidden, code, "admins only")
	assert.Contains(t, body["error"], "system admin")
	code, _ = call(p, bobID, http.MethodPost, "/api/v1/admin/stats/recount", "")
	assert.Equal(t, http.StatusForbidden, code)

	createChannel(p, api, dmID, model.ChannelTypeDirect, aliceID, bobID)
	registerKey(t, p, bobID)                                      // DM turns on: 1 direct
	api.addChannel(chanID, model.ChannelTypeOpen, aliceID, bobID) // a public channel turned on by hand
	api.perms[aliceID+":"+model.PermissionManagePublicChannelProperties.Id] = true
	require.NoError(t, p.changeMethod(aliceID, chanID, methodP2P))
	api.users[carolID].DeleteAt = 1 // deactivated, with a key: not an active user with a key
	registerKey(t, p, carolID)

	code, body = call(p, carolID, http.MethodGet, "/api/v1/admin/stats", "")
	require.Equal(t, http.StatusOK, code)
	assert.EqualValues(t, 2, body["active_users"])          // alice, bob (the bot and carol excluded)
	assert.EqualValues(t, 2, body["active_users_with_key"]) // alice, bob
	assert.EqualValues(t, 1, body["key_share"])
	assert.Equal(t, map[string]any{"p2p": float64(2)}, body["encrypted_channels"])
	assert.EqualValues(t, 1, body["encrypted_direct"])
	assert.EqualValues(t, 2, body["keys_last_30_days"], "bob's and carol's keys")
	assert.Equal(t, false, body["synced_drafts"])
	assert.Equal(t, false, body["approximate"])

	// Turning one off counts down; a recount agrees with the counters.
	require.NoError(t, p.changeMethod(aliceID, dmID, methodNone))
	incremental, _, err := p.store().getStats()
	require.NoError(t, err)
	assert.Equal(t, 1, incremental.Channels["p2p"])
	assert.Equal(t, 0, incremental.Direct)
	code, body = call(p, carolID, http.MethodPost, "/api/v1/admin/stats/recount", "")
	require.Equal(t, http.StatusOK, code)
	recounted, _, err := p.store().getStats()
	require.NoError(t, err)
	assert.Equal(t, incremental.KeyHolders, recounted.KeyHolders)
	assert.Equal(t, incremental.Channels, recounted.Channels)
	assert.Equal(t, incremental.Direct, recounted.Direct)
	assert.Equal(t, incremental.KeysByDay, recounted.KeysByDay)
	assert.EqualValues(t, 1, body["encrypted_channels"].(map[string]any)["p2p"])
}

// TestStatsCountersUnderConcurrency: concurrent key pushes and mode changes all count, and
// the result equals a full recount.
func TestStatsCountersUnderConcurrency(t *testing.T) {
	p, api := newTestPlugin()
	api.On("GetConfig").Return(&model.Config{})
	const users, channels = 40, 30
	ids := make([]string, users)
	for i := range ids {
		ids[i] = fmt.Sprintf("user%022d", i)
		api.addUser(ids[i], fmt.Sprintf("u%d", i), false)
	}
	chans := make([]string, channels)
	for i := range chans {
		chans[i] = fmt.Sprintf("chan%022d", i)
		typ := model.ChannelTypeOpen
		if i%2 == 0 {
			typ = model.ChannelTypeDirect
		}
		api.addChannel(chans[i], typ, ids[0], ids[1])
	}
	api.perms[ids[0]+":"+model.PermissionManagePublicChannelProperties.Id] = true
	api.perms[ids[1]+":"+model.PermissionManagePublicChannelProperties.Id] = true
	keys := make([]*testUser, users)
	proofs := make([]string, users)
	for i := range keys {
		keys[i] = newTestUser(t)
		proofs[i] = proofOf(t, keys[i], ids[i], getNonce(t, p, ids[i]))
	}
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, p.pushPubkey(ids[i], &checkedPush{Key: &keys[i].pub, Proof: mustB64(t, proofs[i])}))
		}()
	}
	for i := range chans {
		wg.Add(2)
		go func() {
			defer wg.Done()
			assert.NoError(t, p.changeMethod(ids[0], chans[i], methodP2P))
		}()
		go func() {
			defer wg.Done()
			assert.NoError(t, p.changeMethod(ids[1], chans[i], methodP2P))
		}()
	}
	wg.Wait()
	incremental, _, err := p.store().getStats()
	require.NoError(t, err)
	assert.Equal(t, users, incremental.KeyHolders)
	assert.Equal(t, channels, incremental.Channels["p2p"])
	assert.Equal(t, channels/2, incremental.Direct)
	recounted, err := p.recountStats()
	require.NoError(t, err)
	assert.Equal(t, incremental.KeyHolders, recounted.KeyHolders)
	assert.Equal(t, incremental.Channels, recounted.Channels)
	assert.Equal(t, incremental.Direct, recounted.Direct)
	assert.Equal(t, incremental.KeysByDay, recounted.KeysByDay)
}

// TestStatsCountersOrderIndependent: the counter updates of two changes of one channel can land
// in the other order (two requests, or two servers); the counts still end equal to a recount.
func TestStatsCountersOrderIndependent(t *testing.T) {
	p, api := newTestPlugin()
	api.On("GetConfig").Return(&model.Config{})
	api.addUser("user0000000000000000000000", "u0", false)
	api.addChannel("chan0000000000000000000000", model.ChannelTypeDirect, "user0000000000000000000000")
	ch := &model.Channel{Id: "chan0000000000000000000000", Type: model.ChannelTypeDirect}
	// The mode went none -> channel -> p2p; the second update is counted first.
	_, _, err := p.store().setMethod(ch.Id, methodP2P)
	require.NoError(t, err)
	p.methodChanged(ch, methodChannel, methodP2P)
	p.methodChanged(ch, methodNone, methodChannel)
	d, _, err := p.store().getStats()
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"p2p": 1, "channel": 0}, d.Channels)
	assert.Equal(t, 1, d.Direct)
	recounted, err := p.recountStats()
	require.NoError(t, err)
	assert.Equal(t, recounted.Channels["p2p"], d.Channels["p2p"])
	assert.Equal(t, recounted.Direct, d.Direct)
}
