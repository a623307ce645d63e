package main

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mme2ee/mattermost-plugin-e2ee/server/e2eeformat"
)

// cliMessages were produced by the web app's crypto core through its CLI
// (node webapp/dist-cli/mm-e2ee.js encrypt --format v2|v1 ...): the Go verifier must accept
// them byte for byte, and refuse them in any other context.
type cliMessages struct {
	Sender   PublicKey `json:"sender"`
	Other    PublicKey `json:"other"`
	Messages []struct {
		Context *struct {
			ChannelID string `json:"channelId"`
			RootID    string `json:"rootId"`
			UserID    string `json:"userId"`
		} `json:"context"`
		E2EE map[string]any `json:"e2ee"`
	} `json:"messages"`
}

func TestVerifyCLIMessages(t *testing.T) {
	raw, err := os.ReadFile("testdata/cli-messages.json")
	require.NoError(t, err)
	var f cliMessages
	require.NoError(t, json.Unmarshal(raw, &f))
	require.Len(t, f.Messages, 3)
	for i, m := range f.Messages {
		ctx := messageContext{}
		if m.Context != nil {
			ctx = messageContext{ChannelID: m.Context.ChannelID, RootID: m.Context.RootID, UserID: m.Context.UserID}
		}
		assert.NoError(t, e2eeformat.VerifyMessage(m.E2EE, &f.Sender, ctx), "message %d", i)
		assert.Error(t, e2eeformat.VerifyMessage(m.E2EE, &f.Other, ctx), "message %d with another key", i)
		if m.Context == nil {
			continue
		}
		for name, bad := range map[string]messageContext{
			"channel": {ChannelID: "otherchannelotherchannelot", RootID: ctx.RootID, UserID: ctx.UserID},
			"thread":  {ChannelID: ctx.ChannelID, RootID: "otherroototherroototherroo", UserID: ctx.UserID},
			"author":  {ChannelID: ctx.ChannelID, RootID: ctx.RootID, UserID: "otheruserotheruserotheruse"},
		} {
			assert.Error(t, e2eeformat.VerifyMessage(m.E2EE, &f.Sender, bad), "message %d replayed into another %s", i, name)
		}
		tampered := cloneMap(m.E2EE)
		tampered["createdAt"] = tampered["createdAt"].(float64) + 1
		assert.Error(t, e2eeformat.VerifyMessage(tampered, &f.Sender, ctx), "message %d with another time", i)
	}
}
