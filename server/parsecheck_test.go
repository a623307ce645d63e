package main

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
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
	// Kind is "" for a post's props.e2ee (v1, v2 or v3), or a channel-key request body:
	// "header", "part" or "joiner" (parsecheck_v3_test.go).
	Kind    string    `json:"kind,omitempty"`
	Text    string    `json:"text"` // props.e2ee as JSON text
	Sender  PublicKey `json:"sender"`
	Context *struct {
		ChannelID string `json:"channelId"`
		RootID    string `json:"rootId"`
		UserID    string `json:"userId"`
	} `json:"context"`
	Commitment string `json:"commitment,omitempty"` // v3 post, joiner set: the record's C (B64)
	PartIndex  int    `json:"partIndex,omitempty"`  // part: its index and its signed hash (B64)
	PartHash   string `json:"partHash,omitempty"`
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
		if it.Kind != "" {
			verdicts[i] = verdictOf(parseCheckV3Body(it))
			continue
		}
		var value any
		if err := json.Unmarshal([]byte(it.Text), &value); err != nil {
			verdicts[i] = parseCheckVerdict{Reason: "not JSON: " + err.Error()}
			continue
		}
		ctx := messageContext{}
		if it.Context != nil {
			ctx = messageContext{ChannelID: it.Context.ChannelID, RootID: it.Context.RootID, UserID: it.Context.UserID}
		}
		if err := parseCheckPost(value, it, ctx); err != nil {
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
