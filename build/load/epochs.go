package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/mme2ee/mattermost-plugin-e2ee/server/e2eeformat"
)

// epochRecord is a channel-key epoch record as the crypto core makes it (docs/design.md §13.3).
type epochRecord struct {
	Version    int          `json:"version"`
	ChannelID  string       `json:"channelId"`
	Epoch      uint64       `json:"epoch"`
	CreatorID  string       `json:"creatorId"`
	CreatedAt  uint64       `json:"createdAt"`
	PubECDHE   string       `json:"pubECDHE"`
	Commitment string       `json:"commitment"`
	Parts      [][][]string `json:"parts"`
	Signature  string       `json:"signature"`
}

// partHash is the part's hash as the header lists it (e2eeformat.PartHash, docs/design.md §13.3).
func partHash(i int, wraps [][]string) (string, error) {
	raw, err := json.Marshal(wraps)
	if err != nil {
		return "", err
	}
	parsed, err := e2eeformat.ParsePart(raw)
	if err != nil {
		return "", fmt.Errorf("part %d: %w", i, err)
	}
	return base64.StdEncoding.EncodeToString(e2eeformat.PartHash(i, parsed)), nil
}

// commitEpoch uploads the record's parts, then its header form, as the web app does. It
// returns the header request's status (0: no answer).
func (r *run) commitEpoch(u *user, rec epochRecord) (int, error) {
	c, _ := base64.StdEncoding.DecodeString(rec.Commitment)
	tag := fmt.Sprintf("%x", c[:8])
	hashes := make([]string, len(rec.Parts))
	for i, part := range rec.Parts {
		h, err := partHash(i, part)
		if err != nil {
			return 0, err
		}
		hashes[i] = h
		status, body, err := r.call(u, "POST", r.plugin(fmt.Sprintf("/channel/epoch/part?chanID=%s&epoch=%d&tag=%s&part=%d", rec.ChannelID, rec.Epoch, tag, i)), part, nil)
		if err != nil {
			return 0, err
		}
		if status != http.StatusOK {
			return status, fmt.Errorf("part %d: HTTP %d %s", i, status, body)
		}
	}
	header := map[string]any{"version": 3, "channelId": rec.ChannelID, "epoch": rec.Epoch, "creatorId": rec.CreatorID, "createdAt": rec.CreatedAt,
		"pubECDHE": rec.PubECDHE, "commitment": rec.Commitment, "partHashes": hashes, "signature": rec.Signature}
	status, body, err := r.call(u, "POST", r.plugin("/channel/epoch?chanID="+rec.ChannelID), header, nil)
	if err != nil {
		return 0, err
	}
	if status != http.StatusOK {
		return status, fmt.Errorf("HTTP %d %s", status, body)
	}
	return status, nil
}

// epochRotation commits the pre-made epochs of the channel-key channel one after the other
// while the fault happens: acked is the last epoch the server acknowledged, unanswered the
// epochs tried since without an answer (any of which may be the head afterwards).
type epochRotation struct {
	mu         sync.Mutex
	acked      uint64
	unanswered []uint64
	commits    int
	noAnswer   int
	refused    []string
}

func (r *run) rotateEpochs(stop <-chan struct{}, wg *sync.WaitGroup) *epochRotation {
	er := &epochRotation{}
	if r.ckChannel == "" {
		return er
	}
	owner := r.members[r.ckChannel][0]
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, rec := range r.ckRecords {
			for {
				select {
				case <-stop:
					return
				default:
				}
				status, err := r.commitEpoch(owner, rec)
				er.mu.Lock()
				done := true
				switch {
				case status == http.StatusOK:
					er.acked, er.unanswered = rec.Epoch, nil
					er.commits++
				case status == 0:
					// No answer: it may be stored. Try the same epoch again.
					er.unanswered = append(er.unanswered, rec.Epoch)
					er.noAnswer++
					done = false
				case status == http.StatusConflict && len(er.unanswered) > 0 && er.unanswered[len(er.unanswered)-1] == rec.Epoch && r.headEpoch() == rec.Epoch:
					// The attempt without an answer went through: that epoch is the head now.
					er.acked, er.unanswered = rec.Epoch, nil
				default:
					er.refused = append(er.refused, fmt.Sprintf("epoch %d: %v", rec.Epoch, err))
					if status >= 500 {
						done = false // the server or its database is not back yet
					} else {
						er.mu.Unlock()
						return // refused: later epochs cannot follow
					}
				}
				er.mu.Unlock()
				time.Sleep(300 * time.Millisecond)
				if done {
					break
				}
			}
		}
	}()
	return er
}

// headEpoch reads the channel-key channel's head epoch from the database (0: none or unreadable).
func (r *run) headEpoch() uint64 {
	db, err := openDB()
	if err != nil {
		return 0
	}
	defer db.Close()
	raw, err := kvGet(db, r.pluginID, "e3head:"+r.ckChannel)
	var h struct {
		Epoch uint64 `json:"epoch"`
	}
	if err != nil || raw == nil || json.Unmarshal(raw, &h) != nil {
		return 0
	}
	return h.Epoch
}

// checkEpochHead: the channel's head is the last acknowledged epoch or one tried since without
// an answer, and every epoch up to it has its record stored.
func (r *run) checkEpochHead(er *epochRotation, bad func(string, ...any)) (uint64, error) {
	db, err := openDB()
	if err != nil {
		return 0, err
	}
	defer db.Close()
	raw, err := kvGet(db, r.pluginID, "e3head:"+r.ckChannel)
	if err != nil {
		return 0, err
	}
	var h struct {
		Epoch uint64 `json:"epoch"`
	}
	if raw == nil || json.Unmarshal(raw, &h) != nil {
		bad("the channel-key channel has no readable epoch head")
		return 0, nil
	}
	ok := h.Epoch == er.acked
	for _, e := range er.unanswered {
		ok = ok || h.Epoch == e
	}
	if !ok {
		bad("epoch head %d is neither the last acknowledged epoch %d nor one tried since %v", h.Epoch, er.acked, er.unanswered)
	}
	for e := uint64(1); e <= h.Epoch; e++ {
		rec, err := kvGet(db, r.pluginID, fmt.Sprintf("e3rec:%s:%d", r.ckChannel, e))
		if err != nil {
			return 0, err
		}
		if rec == nil {
			bad("the record of epoch %d (head %d) is missing", e, h.Epoch)
		}
	}
	return h.Epoch, nil
}
