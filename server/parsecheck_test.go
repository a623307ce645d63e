package main

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/mme2ee/mattermost-plugin-e2ee/server/e2eeformat"
)

// TestMain has one extra mode, for the differential test of the web app
// (webapp/tests/crypto/parser_agreement.test.ts): with E2EE_PARSE_CHECK_IN set, the test binary
// judges each message of that corpus as the server does and writes the verdicts to
// E2EE_PARSE_CHECK_OUT instead of running the tests.
func TestMain(m *testing.M) {
	if in := os.Getenv("E2EE_PARSE_CHECK_IN"); in != "" {
		if err := parseCheck(in, os.Getenv("E2EE_PARSE_CHECK_OUT")); err != nil {
			fmt.Fprintln(os.Stderr, "parse check:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type parseCheckItem struct {
	Text    string    `json:"text"` // props.e2ee as JSON text
	Sender  PublicKey `json:"sender"`
	Context *struct {
		ChannelID string `json:"channelId"`
		RootID    string `json:"rootId"`
		UserID    string `json:"userId"`
	} `json:"context"`
}

type parseCheckVerdict struct {
	Accept bool   `json:"accept"`
	Reason string `json:"reason,omitempty"`
}

// parseCheck decodes each text as the server decodes a post's props (encoding/json into any,
// as model.Post does) and runs the hooks' verifier on it.
func parseCheck(inPath, outPath string) error {
	raw, err := os.ReadFile(inPath)
	if err != nil {
		return err
	}
	var items []parseCheckItem
	if err := json.Unmarshal(raw, &items); err != nil {
		return err
	}
	verdicts := make([]parseCheckVerdict, len(items))
	for i, it := range items {
		var value any
		if err := json.Unmarshal([]byte(it.Text), &value); err != nil {
			verdicts[i] = parseCheckVerdict{Reason: "not JSON: " + err.Error()}
			continue
		}
		ctx := messageContext{}
		if it.Context != nil {
			ctx = messageContext{ChannelID: it.Context.ChannelID, RootID: it.Context.RootID, UserID: it.Context.UserID}
		}
		if err := e2eeformat.VerifyMessage(value, &it.Sender, ctx); err != nil {
			verdicts[i] = parseCheckVerdict{Reason: err.Error()}
			continue
		}
		verdicts[i] = parseCheckVerdict{Accept: true}
	}
	out, err := json.Marshal(verdicts)
	if err != nil {
		return err
	}
	return os.WriteFile(outPath, out, 0o600)
}
