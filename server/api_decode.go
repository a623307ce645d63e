package main

// Pure decoders of the HTTP API's requests: query strings and body bytes in, typed values or an
// *APIError out, with no storage or plugin API, so that they can be fuzzed (api_fuzz_test.go).
// Bodies in the formats of channel-key mode are decoded by package e2eeformat.

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/mme2ee/mattermost-plugin-e2ee/server/e2eeformat"
)

type pushRequest struct {
	Pubkey    *PublicKey `json:"pubkey"`
	BackupGPG *string    `json:"backupGPG"`
	Proof     *string    `json:"proof"` // signature over a nonce from GET /pubkey/nonce (keyproof.go)
}

// checkedPush is a checked POST /pubkey/push body.
type checkedPush struct {
	Key    *PublicKey
	Backup *string // an armored PGP message, or nil
	Proof  []byte  // 64-byte raw ECDSA signature
}

// decodeJSONBody decodes one JSON object, refusing unknown or repeated fields and trailing data.
func decodeJSONBody(body []byte, out any) error {
	if err := e2eeformat.StrictDecode(body, out); err != nil {
		return apiErr(http.StatusBadRequest, "malformed JSON body: "+err.Error())
	}
	return nil
}

// decodePushRequest checks a POST /pubkey/push body: a valid key, an armored backup if any (and
// only when the server mails backups), and a well-formed proof of possession.
func decodePushRequest(body []byte, backupsEnabled bool) (*checkedPush, error) {
	var req pushRequest
	if err := decodeJSONBody(body, &req); err != nil {
		return nil, err
	}
	if req.Pubkey == nil {
		return nil, apiErr(http.StatusBadRequest, "pubkey is required")
	}
	if err := req.Pubkey.Validate(); err != nil {
		return nil, apiErr(http.StatusBadRequest, err.Error())
	}
	if req.BackupGPG != nil {
		if !backupsEnabled {
			return nil, apiErr(http.StatusBadRequest, "GPG backups are disabled on this server")
		}
		if err := e2eeformat.ValidateArmoredMessage(*req.BackupGPG); err != nil {
			if errors.Is(err, e2eeformat.ErrBackupTooLarge) {
				return nil, apiErr(http.StatusRequestEntityTooLarge, err.Error())
			}
			return nil, apiErr(http.StatusBadRequest, err.Error())
		}
	}
	if req.Proof == nil {
		return nil, apiErr(http.StatusBadRequest, "proof is required: sign a nonce from GET /pubkey/nonce with the key's sign half")
	}
	sig, err := e2eeformat.DecodeSignature(*req.Proof)
	if err != nil {
		return nil, apiErr(http.StatusBadRequest, "proof must be standard base64 of a 64-byte ECDSA signature (r || s)")
	}
	return &checkedPush{Key: req.Pubkey, Backup: req.BackupGPG, Proof: sig}, nil
}

type getRequest struct {
	UserIDs []string `json:"userIds"`
}

// decodeUserIDsRequest checks a {"userIds": [...]} body: present, at most max, all Mattermost IDs.
func decodeUserIDsRequest(body []byte, max int) ([]string, error) {
	var req getRequest
	if err := decodeJSONBody(body, &req); err != nil {
		return nil, err
	}
	if req.UserIDs == nil {
		return nil, apiErr(http.StatusBadRequest, "userIds is required")
	}
	if len(req.UserIDs) > max {
		return nil, apiErr(http.StatusBadRequest, fmt.Sprintf("at most %d userIds per request", max))
	}
	for _, id := range req.UserIDs {
		if !model.IsValidId(id) {
			return nil, apiErr(http.StatusBadRequest, "invalid user ID in userIds")
		}
	}
	return req.UserIDs, nil
}

// decodeChannelQuery reads ?chanID=, a Mattermost channel ID.
func decodeChannelQuery(q url.Values) (string, error) {
	id := q.Get("chanID")
	if !model.IsValidId(id) {
		return "", apiErr(http.StatusBadRequest, "chanID must be a channel ID")
	}
	return id, nil
}

// decodeEpochQuery reads ?epoch=, an epoch number; 0 when optional and absent.
func decodeEpochQuery(q url.Values, optional bool) (uint64, error) {
	if optional && q.Get("epoch") == "" {
		return 0, nil
	}
	v, err := strconv.ParseUint(q.Get("epoch"), 10, 64)
	if err != nil || v < 1 || v > e2eeformat.MaxSafeInteger {
		return 0, apiErr(http.StatusBadRequest, "epoch must be an epoch number (integer >= 1)")
	}
	return v, nil
}

// partQuery is ?epoch=&tag=&part= of POST /channel/epoch/part.
type partQuery struct {
	Epoch uint64
	Tag   string // first 8 bytes of the record's commitment, lower-case hex
	Index int
}

func decodePartQuery(q url.Values) (partQuery, error) {
	epoch, err := decodeEpochQuery(q, false)
	if err != nil {
		return partQuery{}, err
	}
	index, err := strconv.Atoi(q.Get("part"))
	if err != nil {
		return partQuery{}, apiErr(http.StatusBadRequest, "part must be a part index")
	}
	return partQuery{Epoch: epoch, Tag: q.Get("tag"), Index: index}, nil
}

// decodeSwitchQuery reads ?on=true|false.
func decodeSwitchQuery(q url.Values) (bool, error) {
	on, err := strconv.ParseBool(q.Get("on"))
	if err != nil {
		return false, apiErr(http.StatusBadRequest, "on must be true or false")
	}
	return on, nil
}
