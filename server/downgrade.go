package main

import (
	"encoding/json"
	"fmt"

	"github.com/mattermost/mattermost/server/public/model"
)

// kvTurnedOffPrefix + channel ID: who last turned the channel's encryption off and when, so
// every browser can warn before sending plaintext there (the original plugin kept no such record).
const kvTurnedOffPrefix = "chanEncrOff:"

// TurnedOff is who turned a channel's encryption off and when (ms since epoch).
type TurnedOff struct {
	UserID   string `json:"user_id"`
	Username string `json:"username"`
	At       int64  `json:"at"`
}

// recordTurnedOff notes the user who just turned encryption off (last writer wins: each write is
// a complete record of a real change).
func (s store) recordTurnedOff(channelID string, rec TurnedOff) error {
	raw, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if appErr := s.api.KVSet(kvTurnedOffPrefix+channelID, raw); appErr != nil {
		return fmt.Errorf("recording who turned encryption off: %w", appErr)
	}
	return nil
}

// getTurnedOff reads the record; nil when there is none (or it is unreadable).
func (s store) getTurnedOff(channelID string) (*TurnedOff, error) {
	raw, appErr := s.api.KVGet(kvTurnedOffPrefix + channelID)
	if appErr != nil {
		return nil, fmt.Errorf("reading who turned encryption off: %w", appErr)
	}
	if raw == nil {
		return nil, nil
	}
	var rec TurnedOff
	if err := json.Unmarshal(raw, &rec); err != nil || !model.IsValidId(rec.UserID) || rec.At <= 0 {
		return nil, nil
	}
	return &rec, nil
}

// noteTurnedOff records userID as having turned channelID's encryption off just now.
func (p *Plugin) noteTurnedOff(userID, channelID string) {
	rec := TurnedOff{UserID: userID, At: model.GetMillis()}
	if u, appErr := p.API.GetUser(userID); appErr == nil {
		rec.Username = u.Username
	}
	if err := p.store().recordTurnedOff(channelID, rec); err != nil {
		p.API.LogError("E2EE: cannot record who turned a channel's encryption off", "channel_id", channelID, "error", err.Error())
	}
}

// turnedOffFor answers the record of an unencrypted channel (nil for an encrypted one).
func (p *Plugin) turnedOffFor(channelID string, method int) (*TurnedOff, error) {
	if method != methodNone {
		return nil, nil
	}
	return p.store().getTurnedOff(channelID)
}
