package main

// Channel-key mode on the server (docs/design.md §13.6): epoch records in KV, the channel's head
// moved only by compare-and-set, exact-membership checks of new records, stale marking, and the
// rules for v3 posts. Nothing is kept in memory (HA).

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/mme2ee/mattermost-plugin-e2ee/server/e2eeformat"
)

const (
	kvEpochHead    = "e3head:"
	kvEpochRecord  = "e3rec:"
	kvEpochPart    = "e3part:"
	kvEpochJoin    = "e3join:"
	kvEpochJoiners = "e3joiners:"
	kvHistoryShare = "e3share:"

	// epochGraceMillis: posts under the previous epoch still pass this long after the head moved,
	// unless the previous epoch was marked stale (membership or key change).
	epochGraceMillis = 60 * 1000
	// partUploadTTL: uploaded parts disappear unless a commit makes them permanent.
	partUploadTTL = 24 * 60 * 60
	// headRetries: every v3 post counts on the head, so concurrent posts through several servers
	// meet there; 8 tries lost counts with 20 posts at once through two servers (docs/design.md §16).
	headRetries = 50

	staleMemberLeft = "member_left"
	staleKeyChanged = "key_changed"
	staleMessages   = "message_limit"
	staleAge        = "age"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// epochHead is the channel's current epoch (KV e3head:<channelID>).
type epochHead struct {
	Epoch          uint64 `json:"epoch"`
	Commitment     string `json:"commitment"`
	CreatorID      string `json:"creatorId"`
	CommittedAt    int64  `json:"committedAt"`
	Posts          int64  `json:"posts"`
	Stale          string `json:"stale"`
	PrevEpoch      uint64 `json:"prevEpoch"`
	PrevCommitment string `json:"prevCommitment"`
	PrevUntil      int64  `json:"prevUntil"`
}

// staleReason: marked stale by a hook, or too many posts, or too old (admin settings).
func (h *epochHead) staleReason(cfg *configuration, now int64) string {
	if h.Stale != "" {
		return h.Stale
	}
	if h.Posts >= int64(cfg.rotationMessages()) {
		return staleMessages
	}
	if now-h.CommittedAt >= int64(cfg.rotationDays())*24*60*60*1000 {
		return staleAge
	}
	return ""
}

func partTag(commitment []byte) string { return hex.EncodeToString(commitment[:8]) }

func epochKey(prefix, channelID string, epoch uint64, rest ...string) string {
	k := prefix + channelID + ":" + strconv.FormatUint(epoch, 10)
	for _, r := range rest {
		k += ":" + r
	}
	return k
}

// getHead reads the head and its raw bytes (for compare-and-set); nil without an epoch.
func (s store) getHead(channelID string) (*epochHead, []byte, error) {
	raw, appErr := s.api.KVGet(kvEpochHead + channelID)
	if appErr != nil {
		return nil, nil, fmt.Errorf("reading the channel's epoch: %w", appErr)
	}
	if raw == nil {
		return nil, nil, nil
	}
	var h epochHead
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, nil, fmt.Errorf("the channel's stored epoch is corrupt: %w", err)
	}
	return &h, raw, nil
}

// updateHead applies change to the head by compare-and-set, retrying on concurrent writers;
// change returns false to leave it as it is.
func (s store) updateHead(channelID string, change func(h *epochHead) bool) error {
	for range headRetries {
		h, raw, err := s.getHead(channelID)
		if err != nil || h == nil {
			return err
		}
		if !change(h) {
			return nil
		}
		updated, _ := json.Marshal(h)
		ok, appErr := s.api.KVCompareAndSet(kvEpochHead+channelID, raw, updated)
		if appErr != nil {
			return fmt.Errorf("storing the channel's epoch: %w", appErr)
		}
		if ok {
			return nil
		}
		casBackoff()
	}
	return errConflict
}

// casBackoff: a short random pause after a lost compare-and-set, so that writers that keep
// colliding spread out.
func casBackoff() { time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond) }

// markStale makes the next sender rotate (a member left, a key changed).
func (p *Plugin) markStale(channelID, reason string) {
	err := p.store().updateHead(channelID, func(h *epochHead) bool {
		if h.Stale != "" {
			return false
		}
		h.Stale = reason
		return true
	})
	if err != nil {
		p.API.LogError("E2EE: cannot mark the channel key stale", "channel_id", channelID, "error", err.Error())
		return
	}
	p.API.PublishWebSocketEvent("epochStale", map[string]any{"chanID": channelID, "reason": reason}, &model.WebsocketBroadcast{ChannelId: channelID})
}

// UserHasLeftChannel: whoever leaves or is removed must not read what comes next.
func (p *Plugin) UserHasLeftChannel(_ *plugin.Context, member *model.ChannelMember, _ *model.User) {
	if member == nil {
		return
	}
	if m, err := p.store().getMethod(member.ChannelId); err == nil && m == methodChannel {
		p.markStale(member.ChannelId, staleMemberLeft)
	}
}

// markKeyChanged stales every channel-key channel of a user whose key was replaced.
func (p *Plugin) markKeyChanged(userID string) {
	teams, appErr := p.API.GetTeamsForUser(userID)
	if appErr != nil {
		p.API.LogError("E2EE: cannot list a user's teams after a key change", "error", appErr.Error())
		return
	}
	seen := map[string]bool{}
	for _, t := range teams {
		channels, appErr := p.API.GetChannelsForTeamForUser(t.Id, userID, false)
		if appErr != nil {
			p.API.LogError("E2EE: cannot list a user's channels after a key change", "error", appErr.Error())
			continue
		}
		for _, ch := range channels {
			if seen[ch.Id] {
				continue
			}
			seen[ch.Id] = true
			if m, err := p.store().getMethod(ch.Id); err == nil && m == methodChannel {
				p.markStale(ch.Id, staleKeyChanged)
			}
		}
	}
}

// memberKeys lists the channel's members with a registered key: user ID -> B64 key ID.
func (p *Plugin) memberKeys(channelID string) (map[string]string, error) {
	out := map[string]string{}
	for page := 0; ; page++ {
		members, appErr := p.API.GetChannelMembers(channelID, page, membersPerPage)
		if appErr != nil {
			return nil, fmt.Errorf("listing channel members: %w", appErr)
		}
		ids := make([]string, 0, len(members))
		for _, m := range members {
			ids = append(ids, m.UserId)
		}
		keys, err := p.store().getPubkeys(ids)
		if err != nil {
			return nil, err
		}
		for id, k := range keys {
			if k == nil {
				continue
			}
			kid, err := k.ID()
			if err != nil {
				continue
			}
			out[id] = b64(kid)
		}
		if len(members) < membersPerPage {
			return out, nil
		}
	}
}

// channelKeyChannel checks that userID is a member of a channel in channel-key mode.
func (p *Plugin) channelKeyChannel(userID, channelID string) (*model.Channel, error) {
	ch, err := p.memberChannel(userID, channelID)
	if err != nil {
		return nil, err
	}
	m, err := p.store().getMethod(channelID)
	if err != nil {
		return nil, err
	}
	if m != methodChannel {
		return nil, apiErr(http.StatusBadRequest, "this channel is not in channel-key mode")
	}
	return ch, nil
}

func headEpoch(h *epochHead) uint64 {
	if h == nil {
		return 0
	}
	return h.Epoch
}

// uploadPart stores one part of a record being created (expires unless committed).
func (p *Plugin) uploadPart(userID, channelID string, epoch uint64, tag string, index int, body []byte) error {
	if _, err := p.channelKeyChannel(userID, channelID); err != nil {
		return err
	}
	if len(tag) != 16 || !isLowerHex(tag) {
		return apiErr(http.StatusBadRequest, "tag must be the first 8 bytes of the commitment in lower-case hex")
	}
	if index < 0 || index >= e2eeformat.MaxParts {
		return apiErr(http.StatusBadRequest, fmt.Sprintf("part must be 0 to %d", e2eeformat.MaxParts-1))
	}
	head, _, err := p.store().getHead(channelID)
	if err != nil {
		return err
	}
	if epoch != headEpoch(head)+1 {
		return apiErr(http.StatusConflict, fmt.Sprintf("the channel is at epoch %d: a new record must be epoch %d", headEpoch(head), headEpoch(head)+1))
	}
	if _, err := e2eeformat.ParsePart(body); err != nil {
		return apiErr(http.StatusBadRequest, err.Error())
	}
	if _, appErr := p.API.KVSetWithOptions(epochKey(kvEpochPart, channelID, epoch, tag, strconv.Itoa(index)), body,
		model.PluginKVSetOptions{ExpireInSeconds: partUploadTTL}); appErr != nil {
		return fmt.Errorf("storing a record part: %w", appErr)
	}
	return nil
}

func isLowerHex(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// readParts reads a record's parts (uploaded under its tag) and checks them against the header.
func (p *Plugin) readParts(h *e2eeformat.EpochHeader) ([][]e2eeformat.Wrap, [][]byte, error) {
	raws := make([][]byte, len(h.PartHashes))
	for i := range h.PartHashes {
		raw, appErr := p.API.KVGet(epochKey(kvEpochPart, h.ChannelID, h.Epoch, partTag(h.Commitment), strconv.Itoa(i)))
		if appErr != nil {
			return nil, nil, fmt.Errorf("reading a record part: %w", appErr)
		}
		raws[i] = raw
	}
	parts, err := h.ParseParts(raws)
	if err != nil {
		return nil, nil, err
	}
	return parts, raws, nil
}

// checkExactMembers: the wraps are exactly the current members with a registered key.
func checkExactMembers(parts [][]e2eeformat.Wrap, members map[string]string) error {
	inRecord := 0
	for _, part := range parts {
		for _, w := range part {
			kid, ok := members[w.UserID]
			if !ok {
				return e2eeformat.Invalidf("the record wraps the key for %s, who is not a member with a registered key", w.UserID)
			}
			if kid != b64(w.KeyID) {
				return e2eeformat.Invalidf("the record wraps the key for %s under a key that is not their registered key", w.UserID)
			}
			inRecord++
		}
	}
	if inRecord != len(members) {
		var missing []string
		covered := map[string]bool{}
		for _, part := range parts {
			for _, w := range part {
				covered[w.UserID] = true
			}
		}
		for id := range members {
			if !covered[id] {
				missing = append(missing, id)
			}
		}
		sort.Strings(missing)
		return e2eeformat.Invalidf("the record leaves out members with a registered key: %v", missing)
	}
	return nil
}

// commitEpoch verifies a new record (header uploaded now, parts before) and makes it the head.
func (p *Plugin) commitEpoch(userID, channelID string, body []byte) (*epochHead, error) {
	if _, err := p.channelKeyChannel(userID, channelID); err != nil {
		return nil, err
	}
	h, err := e2eeformat.ParseEpochHeader(body)
	if err != nil {
		return nil, apiErr(http.StatusBadRequest, err.Error())
	}
	if h.ChannelID != channelID {
		return nil, apiErr(http.StatusBadRequest, "the record is for another channel")
	}
	if h.CreatorID != userID {
		return nil, apiErr(http.StatusBadRequest, "the record's creatorId must be your user ID")
	}
	st := p.store()
	head, headRaw, err := st.getHead(channelID)
	if err != nil {
		return nil, err
	}
	if h.Epoch != headEpoch(head)+1 {
		return nil, apiErr(http.StatusConflict, fmt.Sprintf("the channel is at epoch %d: a new record must be epoch %d", headEpoch(head), headEpoch(head)+1))
	}
	key, err := st.getPubkey(userID)
	if err != nil {
		return nil, err
	}
	if key == nil {
		return nil, apiErr(http.StatusBadRequest, "you have no registered public key")
	}
	pub, err := key.Verifier()
	if err != nil || !h.Verify(pub) {
		return nil, apiErr(http.StatusBadRequest, "the record's signature does not verify with your registered key")
	}
	parts, raws, err := p.readParts(h)
	if err != nil {
		return nil, apiErr(http.StatusBadRequest, err.Error())
	}
	members, err := p.memberKeys(channelID)
	if err != nil {
		return nil, err
	}
	if err := checkExactMembers(parts, members); err != nil {
		return nil, apiErr(http.StatusBadRequest, err.Error())
	}
	// First writer of epoch n wins; a concurrent commit of the same epoch gets 409.
	recKey, header := epochKey(kvEpochRecord, channelID, h.Epoch), h.HeaderJSON()
	created, appErr := p.API.KVCompareAndSet(recKey, nil, header)
	if appErr != nil {
		return nil, fmt.Errorf("storing the record: %w", appErr)
	}
	if !created {
		// The record is stored but the head is still at epoch-1 (checked above): another commit
		// is under way, or one stopped between the record and the head (the server died, make
		// faults). The same record sent again finishes that commit; another one finishes it
		// for its creator (rollForward), so the channel never stays at epoch-1 for good.
		existing, appErr := p.API.KVGet(recKey)
		if appErr != nil {
			return nil, fmt.Errorf("reading the record: %w", appErr)
		}
		if !bytes.Equal(existing, header) {
			replaced, err := p.rollForward(recKey, existing, header, head, headRaw)
			if err != nil {
				p.API.LogWarn("e2ee: cannot finish an earlier commit of a channel's epoch", "channel_id", channelID, "epoch", h.Epoch, "error", err.Error())
			}
			if !replaced {
				return nil, apiErr(http.StatusConflict, fmt.Sprintf("another member created epoch %d first: use it", h.Epoch))
			}
		}
	}
	if err := p.keepParts(h, raws); err != nil {
		return nil, err
	}
	return p.moveHead(h, head, headRaw)
}

// keepParts stores a committed record's parts without the upload's expiry.
func (p *Plugin) keepParts(h *e2eeformat.EpochHeader, raws [][]byte) error {
	for i, raw := range raws {
		if appErr := p.API.KVSet(epochKey(kvEpochPart, h.ChannelID, h.Epoch, partTag(h.Commitment), strconv.Itoa(i)), raw); appErr != nil {
			return fmt.Errorf("storing a record part: %w", appErr)
		}
	}
	return nil
}

// rollForward handles a stored record of epoch head+1 that is not the caller's. Its commit
// checked it (members, signature) before storing it; with its parts still there, it becomes the
// head as its own commit would have made it, and the caller gets 409 and adopts it. Without its
// parts (they expire partUploadTTL after upload, so that commit is long dead: a live one holds
// them), the caller's record takes its place (replaced = true).
func (p *Plugin) rollForward(recKey string, existing, header []byte, head *epochHead, headRaw []byte) (replaced bool, err error) {
	stored, err := e2eeformat.ParseEpochHeader(existing)
	if err != nil {
		return false, fmt.Errorf("the stored record does not parse: %w", err)
	}
	if _, raws, err := p.readParts(stored); err == nil {
		if err := p.keepParts(stored, raws); err != nil {
			return false, err
		}
		_, err := p.moveHead(stored, head, headRaw)
		if err != nil && !errors.Is(err, errConflict) {
			return false, err
		}
		return false, nil
	}
	ok, appErr := p.API.KVCompareAndSet(recKey, existing, header)
	if appErr != nil {
		return false, fmt.Errorf("replacing an abandoned record: %w", appErr)
	}
	return ok, nil
}

// moveHead makes h the channel's head by compare-and-set from head (epoch h.Epoch-1).
func (p *Plugin) moveHead(h *e2eeformat.EpochHeader, head *epochHead, headRaw []byte) (*epochHead, error) {
	st, channelID := p.store(), h.ChannelID
	now := model.GetMillis()
	next := &epochHead{Epoch: h.Epoch, Commitment: b64(h.Commitment), CreatorID: h.CreatorID, CommittedAt: now}
	for range headRetries {
		if head != nil {
			next.PrevEpoch, next.PrevCommitment = head.Epoch, head.Commitment
			next.PrevUntil = 0
			if head.Stale == "" {
				next.PrevUntil = now + epochGraceMillis
			}
		}
		updated, _ := json.Marshal(next)
		ok, appErr := p.API.KVCompareAndSet(kvEpochHead+channelID, headRaw, updated)
		if appErr != nil {
			return nil, fmt.Errorf("storing the channel's epoch: %w", appErr)
		}
		if ok {
			p.API.PublishWebSocketEvent("epochChanged", map[string]any{"chanID": channelID, "epoch": h.Epoch}, &model.WebsocketBroadcast{ChannelId: channelID})
			return next, nil
		}
		// The head changed meanwhile by a post count, a stale mark, or another request finishing
		// this same record (rollForward). A member who left during the check makes the new epoch
		// stale at once.
		var err error
		if head, headRaw, err = st.getHead(channelID); err != nil {
			return nil, err
		}
		if head != nil && head.Epoch == h.Epoch && head.Commitment == next.Commitment {
			return head, nil
		}
		if headEpoch(head) != h.Epoch-1 {
			return nil, errConflict
		}
		if head != nil && head.Stale != "" && head.Stale != staleMessages && head.Stale != staleAge {
			next.Stale = head.Stale
		}
	}
	return nil, errConflict
}

// epochReadResponse is what a member reads to open an epoch's key.
type epochReadResponse struct {
	Epoch  uint64          `json:"epoch"`
	Head   uint64          `json:"head"` // the channel's current epoch: no copy of an older one means "not a member then"
	Header json.RawMessage `json:"header"`
	Part   int             `json:"part"`
	Wraps  json.RawMessage `json:"wraps,omitempty"`
	Joiner json.RawMessage `json:"joiner,omitempty"`
}

// readEpoch returns an epoch's header and the caller's copy (their part, or a joiner set).
func (p *Plugin) readEpoch(userID, channelID string, epoch uint64) (*epochReadResponse, error) {
	if _, err := p.memberChannel(userID, channelID); err != nil {
		return nil, err
	}
	raw, appErr := p.API.KVGet(epochKey(kvEpochRecord, channelID, epoch))
	if appErr != nil {
		return nil, fmt.Errorf("reading the record: %w", appErr)
	}
	if raw == nil {
		return nil, apiErr(http.StatusNotFound, "no such epoch in this channel")
	}
	h, err := e2eeformat.ParseEpochHeader(raw)
	if err != nil {
		return nil, fmt.Errorf("the stored record is corrupt: %w", err)
	}
	head, _, err := p.store().getHead(channelID)
	if err != nil {
		return nil, err
	}
	res := &epochReadResponse{Epoch: epoch, Head: headEpoch(head), Header: raw, Part: -1}
	for i := range h.PartHashes {
		part, appErr := p.API.KVGet(epochKey(kvEpochPart, channelID, epoch, partTag(h.Commitment), strconv.Itoa(i)))
		if appErr != nil {
			return nil, fmt.Errorf("reading a record part: %w", appErr)
		}
		wraps, err := e2eeformat.ParsePart(part)
		if err != nil {
			return nil, fmt.Errorf("a stored record part is corrupt: %w", err)
		}
		for _, w := range wraps {
			if w.UserID == userID {
				res.Part, res.Wraps = i, part
				return res, nil
			}
		}
	}
	joiner, appErr := p.API.KVGet(epochKey(kvEpochJoin, channelID, epoch, userID))
	if appErr != nil {
		return nil, fmt.Errorf("reading joiner wraps: %w", appErr)
	}
	if joiner != nil {
		res.Joiner = joiner
	}
	return res, nil
}

// epochStatus is the head as a sender sees it, and who has no copy of its key yet.
type epochStatus struct {
	Epoch        uint64   `json:"epoch"`
	Stale        string   `json:"stale"`
	Missing      []string `json:"missing"`
	HistoryShare bool     `json:"historySharing"`
}

func (p *Plugin) epochStatus(userID, channelID string, epoch uint64) (*epochStatus, error) {
	if _, err := p.channelKeyChannel(userID, channelID); err != nil {
		return nil, err
	}
	st := p.store()
	head, _, err := st.getHead(channelID)
	if err != nil {
		return nil, err
	}
	share, err := p.historySharing(channelID)
	if err != nil {
		return nil, err
	}
	res := &epochStatus{Missing: []string{}, HistoryShare: share}
	if head == nil {
		res.Stale = "no_epoch"
		return res, nil
	}
	res.Epoch, res.Stale = head.Epoch, head.staleReason(p.getConfiguration(), model.GetMillis())
	if epoch != 0 && epoch != head.Epoch {
		// A past epoch (history sharing): who lacks a copy of it.
		if epoch > head.Epoch {
			return nil, apiErr(http.StatusNotFound, "no such epoch in this channel")
		}
		res.Epoch, res.Stale = epoch, "past"
	}
	covered, err := p.coveredUsers(channelID, res.Epoch)
	if err != nil {
		return nil, err
	}
	members, err := p.memberKeys(channelID)
	if err != nil {
		return nil, err
	}
	for id := range members {
		if !covered[id] {
			res.Missing = append(res.Missing, id)
		}
	}
	sort.Strings(res.Missing)
	return res, nil
}

// coveredUsers: users with a copy of an epoch's key (record wraps and joiner sets).
func (p *Plugin) coveredUsers(channelID string, epoch uint64) (map[string]bool, error) {
	raw, appErr := p.API.KVGet(epochKey(kvEpochRecord, channelID, epoch))
	if appErr != nil || raw == nil {
		return nil, fmt.Errorf("reading the record of epoch %d", epoch)
	}
	h, err := e2eeformat.ParseEpochHeader(raw)
	if err != nil {
		return nil, err
	}
	parts, _, err := p.readParts(h)
	if err != nil {
		return nil, err
	}
	covered := map[string]bool{}
	for _, part := range parts {
		for _, w := range part {
			covered[w.UserID] = true
		}
	}
	joiners, appErr := p.API.KVGet(epochKey(kvEpochJoiners, channelID, epoch))
	if appErr != nil {
		return nil, fmt.Errorf("reading joiners: %w", appErr)
	}
	var list []string
	if joiners != nil {
		_ = json.Unmarshal(joiners, &list)
	}
	for _, id := range list {
		covered[id] = true
	}
	return covered, nil
}

// addJoiners stores wraps that a member holding an epoch's key made for members without a copy.
func (p *Plugin) addJoiners(userID, channelID string, body []byte) error {
	if _, err := p.channelKeyChannel(userID, channelID); err != nil {
		return err
	}
	set, err := e2eeformat.ParseJoiners(body)
	if err != nil {
		return apiErr(http.StatusBadRequest, err.Error())
	}
	if set.ChannelID != channelID || set.AdderID != userID {
		return apiErr(http.StatusBadRequest, "the joiner wraps must be for this channel and signed by you (adderId)")
	}
	st := p.store()
	head, _, err := st.getHead(channelID)
	if err != nil {
		return err
	}
	share, err := p.historySharing(channelID)
	if err != nil {
		return err
	}
	if head == nil || set.Epoch > head.Epoch || (set.Epoch != head.Epoch && !share) {
		return apiErr(http.StatusBadRequest, "joiner wraps are accepted for the current epoch only (and past ones when history sharing is on)")
	}
	raw, appErr := p.API.KVGet(epochKey(kvEpochRecord, channelID, set.Epoch))
	if appErr != nil || raw == nil {
		return apiErr(http.StatusNotFound, "no such epoch in this channel")
	}
	h, err := e2eeformat.ParseEpochHeader(raw)
	if err != nil {
		return err
	}
	key, err := st.getPubkey(userID)
	if err != nil {
		return err
	}
	if key == nil {
		return apiErr(http.StatusBadRequest, "you have no registered public key")
	}
	pub, err := key.Verifier()
	if err != nil || !set.Verify(pub, h.Commitment) {
		return apiErr(http.StatusBadRequest, "the joiner wraps' signature does not verify with your registered key for this record")
	}
	members, err := p.memberKeys(channelID)
	if err != nil {
		return err
	}
	covered, err := p.coveredUsers(channelID, set.Epoch)
	if err != nil {
		return err
	}
	for _, w := range set.Wraps {
		kid, ok := members[w.UserID]
		if !ok || kid != b64(w.KeyID) {
			return apiErr(http.StatusBadRequest, "joiner wraps may only be for current members under their registered key")
		}
		if covered[w.UserID] {
			return apiErr(http.StatusConflict, "a joiner already has a copy of this epoch's key")
		}
	}
	for _, w := range set.Wraps {
		if appErr := p.API.KVSet(epochKey(kvEpochJoin, channelID, set.Epoch, w.UserID), body); appErr != nil {
			return fmt.Errorf("storing joiner wraps: %w", appErr)
		}
	}
	listKey := epochKey(kvEpochJoiners, channelID, set.Epoch)
	for range headRetries {
		old, appErr := p.API.KVGet(listKey)
		if appErr != nil {
			return fmt.Errorf("reading joiners: %w", appErr)
		}
		var list []string
		if old != nil {
			_ = json.Unmarshal(old, &list)
		}
		for _, w := range set.Wraps {
			list = append(list, w.UserID)
		}
		updated, _ := json.Marshal(list)
		ok, appErr := p.API.KVCompareAndSet(listKey, old, updated)
		if appErr != nil {
			return fmt.Errorf("storing joiners: %w", appErr)
		}
		if ok {
			p.API.PublishWebSocketEvent("epochJoiners", map[string]any{"chanID": channelID, "epoch": set.Epoch}, &model.WebsocketBroadcast{ChannelId: channelID})
			return nil
		}
	}
	return errConflict
}

func (p *Plugin) historySharing(channelID string) (bool, error) {
	raw, appErr := p.API.KVGet(kvHistoryShare + channelID)
	if appErr != nil {
		return false, fmt.Errorf("reading the history sharing setting: %w", appErr)
	}
	return bytes.Equal(raw, []byte("1")), nil
}

func (p *Plugin) setHistorySharing(userID, channelID string, on bool) error {
	ch, err := p.channelKeyChannel(userID, channelID)
	if err != nil {
		return err
	}
	if !p.canChangeMethod(userID, ch) {
		return apiErr(http.StatusForbidden, "you do not have permission to change this channel's encryption")
	}
	var appErr *model.AppError
	if on {
		appErr = p.API.KVSet(kvHistoryShare+channelID, []byte("1"))
	} else {
		appErr = p.API.KVDelete(kvHistoryShare + channelID)
	}
	if appErr != nil {
		return fmt.Errorf("storing the history sharing setting: %w", appErr)
	}
	return nil
}

// checkV3Post: a v3 post names the current non-stale epoch (or the previous one within the grace
// window when it was not marked stale) and is signed by its author over the context and C.
func (p *Plugin) checkV3Post(raw []byte, author *PublicKey, ctx messageContext) error {
	m, err := e2eeformat.ParseMessageV3(raw)
	if err != nil {
		return err
	}
	method, err := p.store().getMethod(ctx.ChannelID)
	if err != nil {
		return err
	}
	if method != methodChannel {
		return &PostRejectedError{Reason: "channel-key (v3) messages are only accepted in channel-key mode"}
	}
	head, _, err := p.store().getHead(ctx.ChannelID)
	if err != nil {
		return err
	}
	if head == nil {
		return &PostRejectedError{Reason: "this channel has no channel key yet: create epoch 1 first"}
	}
	now := model.GetMillis()
	var commitment string
	switch {
	case m.Epoch == head.Epoch:
		if reason := head.staleReason(p.getConfiguration(), now); reason != "" {
			return &PostRejectedError{Reason: fmt.Sprintf("the channel key of epoch %d is stale (%s): a new epoch is needed", head.Epoch, reason)}
		}
		commitment = head.Commitment
	case m.Epoch == head.PrevEpoch && head.PrevEpoch != 0 && now <= head.PrevUntil:
		commitment = head.PrevCommitment
	default:
		return &PostRejectedError{Reason: fmt.Sprintf("the message uses epoch %d but the channel is at epoch %d", m.Epoch, head.Epoch)}
	}
	c, err := base64.StdEncoding.DecodeString(commitment)
	if err != nil {
		return errors.New("the stored epoch commitment is corrupt")
	}
	pub, err := author.Verifier()
	if err != nil {
		return e2eeformat.Invalidf("the author's public key is invalid")
	}
	if !m.Verify(pub, ctx, c) {
		return e2eeformat.Invalidf("the signature does not verify with the author's public key for this channel, thread, author and epoch")
	}
	return nil
}

// countV3Post counts posts per epoch, for rotation after ChannelKeyRotationMessages.
func (p *Plugin) countV3Post(post *model.Post) {
	if post.Type != encryptedPostType {
		return
	}
	v, raw := e2eeformat.Version(post.GetProp("e2ee"))
	if v != 3 {
		return
	}
	m, err := e2eeformat.ParseMessageV3(raw)
	if err != nil {
		return
	}
	if err := p.store().updateHead(post.ChannelId, func(h *epochHead) bool {
		if h.Epoch != m.Epoch {
			return false
		}
		h.Posts++
		return true
	}); err != nil {
		p.API.LogWarn("E2EE: cannot count a post of the channel key", "channel_id", post.ChannelId, "error", err.Error())
	}
}

// verifyStoredMessage checks a stored post's props.e2ee with one of its author's keys: v1/v2 as
// the hooks do, v3 against the commitment of the epoch it names (an old epoch is fine here: the
// head and grace rules are for new posts only).
func (p *Plugin) verifyStoredMessage(e2ee any, author *PublicKey, ctx messageContext) error {
	v, raw := e2eeformat.Version(e2ee)
	if v != 3 {
		return e2eeformat.VerifyMessage(e2ee, author, ctx)
	}
	m, err := e2eeformat.ParseMessageV3(raw)
	if err != nil {
		return err
	}
	rec, appErr := p.API.KVGet(epochKey(kvEpochRecord, ctx.ChannelID, m.Epoch))
	if appErr != nil {
		return fmt.Errorf("reading the record: %w", appErr)
	}
	if rec == nil {
		return e2eeformat.Invalidf("the message names epoch %d, which this channel does not have", m.Epoch)
	}
	h, err := e2eeformat.ParseEpochHeader(rec)
	if err != nil {
		return fmt.Errorf("the stored record is corrupt: %w", err)
	}
	pub, err := author.Verifier()
	if err != nil {
		return e2eeformat.Invalidf("the author's public key is invalid")
	}
	if !m.Verify(pub, ctx, h.Commitment) {
		return e2eeformat.Invalidf("the signature does not verify with the author's public key for this channel, thread, author and epoch")
	}
	return nil
}
