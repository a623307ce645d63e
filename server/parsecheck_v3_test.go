package main

import (
	"bytes"
	"encoding/base64"
	"errors"
)

// Channel-key (v3) part of the parse-check mode (parsecheck_test.go): posts as the hooks judge
// them (e2eeVersion, then parseMessageV3 and the signature over the epoch's commitment, without
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
	v, raw := e2eeVersion(value)
	if v != 3 {
		return verifyEncryptedMessage(value, &it.Sender, ctx)
	}
	m, err := parseMessageV3(raw)
	if err != nil {
		return err
	}
	c, err := base64.StdEncoding.DecodeString(it.Commitment)
	if err != nil {
		return errors.New("bad commitment in the corpus")
	}
	pub, err := it.Sender.verifier()
	if err != nil {
		return err
	}
	if !m.verify(pub, ctx, c) {
		return invalidf("the v3 signature does not verify")
	}
	return nil
}

// parseCheckV3Body judges an epoch record header (commit), a part (upload and commit) or a joiner
// set, from its raw text, as the API handlers do before they look at the channel.
func parseCheckV3Body(it parseCheckItem) error {
	raw := []byte(it.Text)
	switch it.Kind {
	case "header":
		h, err := parseEpochHeaderJSON(raw)
		if err != nil {
			return err
		}
		pub, err := it.Sender.verifier()
		if err != nil {
			return err
		}
		if !h.verify(pub) {
			return invalidf("the record signature does not verify")
		}
		return nil
	case "part":
		wraps, err := parsePartJSON(raw)
		if err != nil {
			return err
		}
		want, err := base64.StdEncoding.DecodeString(it.PartHash)
		if err != nil {
			return errors.New("bad part hash in the corpus")
		}
		if !bytes.Equal(partHash(it.PartIndex, wraps), want) {
			return invalidf("the part does not match its signed hash")
		}
		return nil
	case "joiner":
		s, err := parseJoinerJSON(raw)
		if err != nil {
			return err
		}
		c, err := base64.StdEncoding.DecodeString(it.Commitment)
		if err != nil {
			return errors.New("bad commitment in the corpus")
		}
		pub, err := it.Sender.verifier()
		if err != nil {
			return err
		}
		if !verifyRawSignature(pub, s.signedData(c), s.Signature) {
			return invalidf("the joiner signature does not verify")
		}
		return nil
	}
	return errors.New("unknown kind in the corpus")
}
