package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/lib/pq"
)

// storedPost is one row of Posts in the run's channels.
type storedPost struct {
	id, channelID, userID, typ, message string
	props                               map[string]any
	deleteAt                            int64
}

func (r *run) storedPosts() (map[string]storedPost, error) {
	db, err := openDB()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	chans := append(append([]string{}, r.encChannels...), r.plainChannels...)
	rows, err := db.Query(`SELECT Id, ChannelId, UserId, Type, Message, Props, DeleteAt FROM Posts
		WHERE ChannelId = ANY($1) AND Type NOT LIKE 'system_%'`, pq.Array(chans))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]storedPost{}
	for rows.Next() {
		var p storedPost
		var props []byte
		if err := rows.Scan(&p.id, &p.channelID, &p.userID, &p.typ, &p.message, &props, &p.deleteAt); err != nil {
			return nil, err
		}
		if len(props) > 0 {
			if err := json.Unmarshal(props, &p.props); err != nil {
				return nil, fmt.Errorf("post %s: props: %w", p.id, err)
			}
		}
		out[p.id] = p
	}
	return out, rows.Err()
}

// matches: the stored row is the item's post, content and all.
func (it *item) matches(p storedPost) bool {
	if p.channelID != it.channelID {
		return false
	}
	if !it.encrypted() {
		return p.typ == "" && p.message == it.text
	}
	e2ee, _ := p.props["e2ee"].(map[string]any)
	return p.typ == "custom_e2ee" && p.message == "Encrypted message" && e2ee != nil && e2ee["signature"] == it.sig
}

// exactlyOnce is the invariant every case checks: each acknowledged post is stored once, live,
// with the content sent; no post is stored twice; a post refused with an HTTP answer is not
// stored; every other row is accounted for (an unacknowledged attempt with no answer, or the
// intruder's plaintext, reported by the caller). In an encrypted channel no live row is plaintext.
type tally struct {
	Attempts           int `json:"attempts"`
	Acked              int `json:"acked"`
	AckedEncrypted     int `json:"acked_encrypted"`
	AckedPlain         int `json:"acked_plain"`
	Refused            int `json:"refused_with_answer"`
	NoAnswer           int `json:"no_answer"`
	StoredOnce         int `json:"acked_stored_once"`
	StoredWithoutAck   int `json:"stored_without_ack"`
	IntruderRowsLive   int `json:"intruder_rows_live"`
	IntruderRowsGone   int `json:"intruder_rows_deleted"`
	IntruderTextInRows int `json:"intruder_text_kept_in_deleted_rows"`
	BotPosts           int `json:"bot_announcements"`
}

func (r *run) exactlyOnce(intruderAcked map[string]bool) (tally, error) {
	var t tally
	stored, err := r.storedPosts()
	if err != nil {
		return t, err
	}
	seen := map[string]string{} // row id -> what claimed it
	var problems []string
	bad := func(format string, a ...any) {
		if len(problems) < 20 {
			problems = append(problems, fmt.Sprintf(format, a...))
		}
	}
	// Rows by content, to find an item stored without (or besides) its acknowledged ID.
	byContent := map[*item][]string{}
	index := map[string]*item{}
	for _, list := range r.items {
		for _, it := range list {
			if it.encrypted() {
				index["s:"+it.sig] = it
			} else {
				index["t:"+it.text] = it
			}
		}
	}
	for id, p := range stored {
		var it *item
		if e2ee, ok := p.props["e2ee"].(map[string]any); ok {
			sig, _ := e2ee["signature"].(string)
			it = index["s:"+sig]
		} else {
			it = index["t:"+p.message]
		}
		if it != nil && it.matches(p) {
			byContent[it] = append(byContent[it], id)
		}
	}
	acked := map[*item]bool{}
	for _, o := range r.outcomes {
		t.Attempts++
		switch {
		case o.status == http.StatusCreated:
			t.Acked++
			if o.item.encrypted() {
				t.AckedEncrypted++
			} else {
				t.AckedPlain++
			}
			acked[o.item] = true
			p, ok := stored[o.postID]
			switch {
			case !ok:
				bad("acknowledged post %s (client %d) is not stored", o.postID, o.item.client)
			case p.deleteAt != 0:
				bad("acknowledged post %s was deleted", o.postID)
			case !o.item.matches(p):
				bad("acknowledged post %s is stored with other content", o.postID)
			case len(byContent[o.item]) != 1:
				bad("acknowledged post %s is stored %d times", o.postID, len(byContent[o.item]))
			default:
				t.StoredOnce++
			}
			seen[o.postID] = "ack"
		case o.status != 0:
			t.Refused++
			if n := len(byContent[o.item]); n > 0 {
				bad("a post refused with HTTP %d is stored (%v)", o.status, byContent[o.item])
			}
		default:
			t.NoAnswer++
		}
	}
	for it, ids := range byContent {
		if acked[it] {
			continue
		}
		if len(ids) > 1 {
			bad("an unacknowledged post is stored %d times: %v", len(ids), ids)
		}
		t.StoredWithoutAck += len(ids)
		for _, id := range ids {
			seen[id] = "unacked"
		}
	}
	// The plugin's bot announces mode changes in the channel, in clear by design.
	bots := map[string]bool{}
	if db, err := openDB(); err == nil {
		rows, err := db.Query(`SELECT UserId FROM Bots WHERE OwnerId = $1`, r.pluginID)
		if err == nil {
			for rows.Next() {
				var id string
				if rows.Scan(&id) == nil {
					bots[id] = true
				}
			}
			rows.Close()
		}
		db.Close()
	}
	encrypted := map[string]bool{}
	for _, ch := range r.encChannels {
		encrypted[ch] = true
	}
	for id, p := range stored {
		if intruderAcked[id] || (r.intruder != nil && p.userID == r.intruder.id) {
			if p.deleteAt == 0 {
				t.IntruderRowsLive++
				bad("the intruder's plaintext post %s is live in an encrypted channel", id)
			} else {
				t.IntruderRowsGone++
				if strings.Contains(p.message, "intruder") {
					t.IntruderTextInRows++
				}
			}
			continue
		}
		if bots[p.userID] {
			t.BotPosts++
			continue
		}
		if _, ok := seen[id]; !ok {
			bad("row %s (type %q, deleted %v) matches no post of this run", id, p.typ, p.deleteAt != 0)
		}
		if encrypted[p.channelID] && p.deleteAt == 0 && p.typ != "custom_e2ee" {
			bad("plaintext row %s is live in an encrypted channel", id)
		}
	}
	if len(problems) > 0 {
		return t, fmt.Errorf("%d problem(s): %s", len(problems), strings.Join(problems, "; "))
	}
	return t, nil
}
