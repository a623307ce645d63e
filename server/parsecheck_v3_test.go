package main

import (
	"bytes"
	"encoding/base64"
	"errors"

	"github.com/mme2ee/mattermost-plugin-e2ee/server/e2eeformat"
)

// Channel-key (v3) part of the parse-check mode (parsecheck_test.go): posts as the hooks judge
// them (e2eeformat.Version, then ParseMessageV3 and the signature over the epoch's commitment, without
// the head and grace rules that need a channel), and request bodies as the API reads them
// (raw text, not a decoded props value).

func verdictOf(err error) parseCheckVerdict {
	if err != nil {
		return parseCheckVerdict{Reason: err.Error()}
	}
	return parseCheckVerdict{Accept: true}
}

// parseCheckPost judges a decoded props.e2ee as MessageWillBePosted does.
func parseCheckPost(value any, it parseCheckItem, ctx messageContext) error {
	v, raw := e2eeformat.Version(value)
	if v != 3 {
		return e2eeformat.VerifyMessage(value, &it.Sender, ctx)
	}
	m, err := e2eeformat.ParseMessageV3(raw)
	if err != nil {
		return err
	}
	c, err := base64.StdEncoding.DecodeString(it.Commitment)
	if err != nil {
		return errors.New("bad commitment in the corpus")
	}
	pub, err := it.Sender.Verifier()
	if err != nil {
		return err
	}
	if !m.Verify(pub, ctx, c) {
		return e2eeformat.Invalidf("the v3 signature does not verify")
	}
	return nil
}

// parseCheckV3Body judges an epoch record header (commit), a part (upload and commit) or a joiner
// set, from its raw text, as the API handlers do before they look at the channel.
func parseCheckV3Body(it parseCheckItem) error {
	raw := []byte(it.Text)
	switch it.Kind {
	case "header":
		h, err := e2eeformat.ParseEpochHeader(raw)
		if err != nil {
			return err
		}
		pub, err := it.Sender.Verifier()
		if err != nil {
			return err
		}
		if !h.Verify(pub) {
			return e2eeformat.Invalidf("the record signature does not verify")
		}
		return nil
	case "part":
		wraps, err := e2eeformat.ParsePart(raw)
		if err != nil {
			return err
		}
		want, err := base64.StdEncoding.DecodeString(it.PartHash)
		if err != nil {
			return errors.New("bad part hash in the corpus")
		}
		if !bytes.Equal(e2eeformat.PartHash(it.PartIndex, wraps), want) {
			return e2eeformat.Invalidf("the part does not match its signed hash")
		}
		return nil
	case "joiner":
		s, err := e2eeformat.ParseJoiners(raw)
		if err != nil {
			return err
		}
		c, err := base64.StdEncoding.DecodeString(it.Commitment)
		if err != nil {
			return errors.New("bad commitment in the corpus")
		}
		pub, err := it.Sender.Verifier()
		if err != nil {
			return err
		}
		if !s.Verify(pub, c) {
			return e2eeformat.Invalidf("the joiner signature does not verify")
		}
		return nil
	}
	return errors.New("unknown kind in the corpus")
}
