package e2eeformat

// Channel-key mode formats (docs/design.md §13): epoch record header and parts, joiner wraps and
// message v3, checked byte for byte as webapp/src/crypto/epoch.ts and v3.ts write them. Kept apart
// from message.go's v1/v2 rules.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
)

const (
	v3LabelRecord    = "mm-e2ee/channel/v3/epoch-record"
	v3LabelPart      = "mm-e2ee/channel/v3/wraps-part"
	v3LabelJoin      = "mm-e2ee/channel/v3/joiner-wraps"
	v3LabelSignature = "mm-e2ee/channel/v3/signature"
	// PartMax is the most wraps in a part or joiner set (about 55 KB of JSON).
	PartMax = 400
	// MaxParts bounds a record: 100 parts of 400 wraps, 40,000 members.
	MaxParts = 100
)

var v3IDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Wrap is one [userId, keyID, wrapped] entry.
type Wrap struct {
	UserID  string
	KeyID   []byte
	Wrapped []byte
}

// EpochHeader is the header form of an epoch record (part hashes instead of parts).
type EpochHeader struct {
	ChannelID  string
	Epoch      uint64
	CreatorID  string
	CreatedAt  uint64
	PubECDHE   []byte
	Commitment []byte
	PartHashes [][]byte
	Signature  []byte
}

type epochHeaderWire struct {
	Version    int          `json:"version"`
	ChannelID  *string      `json:"channelId"`
	Epoch      *jsonNumeral `json:"epoch"`
	CreatorID  *string      `json:"creatorId"`
	CreatedAt  *jsonNumeral `json:"createdAt"`
	PubECDHE   *string      `json:"pubECDHE"`
	Commitment *string      `json:"commitment"`
	PartHashes []string     `json:"partHashes"`
	Signature  *string      `json:"signature"`
}

type joinerWire struct {
	Version   int          `json:"version"`
	ChannelID *string      `json:"channelId"`
	Epoch     *jsonNumeral `json:"epoch"`
	AdderID   *string      `json:"adderId"`
	CreatedAt *jsonNumeral `json:"createdAt"`
	PubECDHE  *string      `json:"pubECDHE"`
	Wraps     [][]string   `json:"wraps"`
	Signature *string      `json:"signature"`
}

// JoinerSet is a set of joiner wraps (§13.5).
type JoinerSet struct {
	ChannelID string
	Epoch     uint64
	AdderID   string
	CreatedAt uint64
	PubECDHE  []byte
	Wraps     []Wrap
	Signature []byte
}

type messageV3Wire struct {
	Version       int          `json:"version"`
	CreatedAt     *jsonNumeral `json:"createdAt"`
	Epoch         *jsonNumeral `json:"epoch"`
	IV            *string      `json:"iv"`
	EncryptedData *string      `json:"encryptedData"`
	Signature     *string      `json:"signature"`
}

func checkV3ID(field string, s *string) (string, error) {
	if s == nil || !v3IDPattern.MatchString(*s) {
		return "", Invalidf("%s must be an ID of 1-64 characters A-Z a-z 0-9 _ -", field)
	}
	return *s, nil
}

// jsonNumeral is a JSON number token. encoding/json also decodes a string holding a number
// ("1") into a json.Number; the web app refuses that (docs/design.md §3.1), so it is refused here.
type jsonNumeral string

func (n *jsonNumeral) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return errors.New("expected a JSON number")
	}
	*n = jsonNumeral(b)
	return nil
}

// MarshalJSON writes the number as it was read (as json.Number does).
func (n jsonNumeral) MarshalJSON() ([]byte, error) {
	return []byte(n), nil
}

func parseSafeUint(field string, n *jsonNumeral, min uint64) (uint64, error) {
	if n == nil {
		return 0, Invalidf("%s is missing", field)
	}
	v, err := strconv.ParseUint(string(*n), 10, 64)
	if err != nil || v > MaxSafeInteger || v < min {
		return 0, Invalidf("%s must be an integer from %d to 2^53-1", field, min)
	}
	return v, nil
}

func parseV3Point(s *string) ([]byte, error) {
	if s == nil {
		return nil, Invalidf("pubECDHE is missing")
	}
	raw, err := Base64Exact("pubECDHE", *s, PointLen)
	if err != nil {
		return nil, err
	}
	if _, err := DecodePoint(*s); err != nil {
		return nil, Invalidf("pubECDHE is not a P-256 point")
	}
	return raw, nil
}

func parseV3Bytes(field string, s *string, n int) ([]byte, error) {
	if s == nil {
		return nil, Invalidf("%s is missing", field)
	}
	return Base64Exact(field, *s, n)
}

// ParseWraps checks a list of wraps: 1..PartMax entries, users and key IDs distinct (seen
// maps span a whole record).
func ParseWraps(field string, list [][]string, seenUsers, seenIDs map[string]bool) ([]Wrap, error) {
	if len(list) == 0 || len(list) > PartMax {
		return nil, Invalidf("%s must hold 1 to %d wraps", field, PartMax)
	}
	out := make([]Wrap, 0, len(list))
	for i, w := range list {
		f := fmt.Sprintf("%s[%d]", field, i)
		if len(w) != 3 {
			return nil, Invalidf("%s must be [userId, keyID, wrappedKey]", f)
		}
		uid, err := checkV3ID(f+" userId", &w[0])
		if err != nil {
			return nil, err
		}
		id, err := Base64Exact(f+" key ID", w[1], 32)
		if err != nil {
			return nil, err
		}
		wrapped, err := Base64Exact(f+" wrapped key", w[2], 40)
		if err != nil {
			return nil, err
		}
		if seenUsers[uid] || seenIDs[w[1]] {
			return nil, Invalidf("%s repeats a user or key", f)
		}
		seenUsers[uid] = true
		seenIDs[w[1]] = true
		out = append(out, Wrap{UserID: uid, KeyID: id, Wrapped: wrapped})
	}
	return out, nil
}

// ParsePart reads one stored or uploaded part: a JSON array of wraps.
func ParsePart(raw []byte) ([]Wrap, error) {
	var list [][]string
	if err := StrictDecode(raw, &list); err != nil {
		return nil, Invalidf("part: %v", err)
	}
	return ParseWraps("part", list, map[string]bool{}, map[string]bool{})
}

// ParseEpochHeader reads a record's header form (§13.3).
func ParseEpochHeader(raw []byte) (*EpochHeader, error) {
	var j epochHeaderWire
	if err := StrictDecode(raw, &j); err != nil {
		return nil, Invalidf("epoch record: %v", err)
	}
	if j.Version != 3 {
		return nil, Invalidf("epoch record: version must be 3")
	}
	h := &EpochHeader{}
	var err error
	if h.ChannelID, err = checkV3ID("channelId", j.ChannelID); err != nil {
		return nil, err
	}
	if h.CreatorID, err = checkV3ID("creatorId", j.CreatorID); err != nil {
		return nil, err
	}
	if h.Epoch, err = parseSafeUint("epoch", j.Epoch, 1); err != nil {
		return nil, err
	}
	if h.CreatedAt, err = parseSafeUint("createdAt", j.CreatedAt, 0); err != nil {
		return nil, err
	}
	if h.PubECDHE, err = parseV3Point(j.PubECDHE); err != nil {
		return nil, err
	}
	if h.Commitment, err = parseV3Bytes("commitment", j.Commitment, 32); err != nil {
		return nil, err
	}
	if h.Signature, err = parseV3Bytes("signature", j.Signature, 64); err != nil {
		return nil, err
	}
	if len(j.PartHashes) == 0 || len(j.PartHashes) > MaxParts {
		return nil, Invalidf("partHashes must hold 1 to %d hashes", MaxParts)
	}
	for i, s := range j.PartHashes {
		b, err := Base64Exact(fmt.Sprintf("partHashes[%d]", i), s, 32)
		if err != nil {
			return nil, err
		}
		h.PartHashes = append(h.PartHashes, b)
	}
	return h, nil
}

// ParseJoiners reads a joiner wraps set (§13.5).
func ParseJoiners(raw []byte) (*JoinerSet, error) {
	var j joinerWire
	if err := StrictDecode(raw, &j); err != nil {
		return nil, Invalidf("joiner wraps: %v", err)
	}
	if j.Version != 3 {
		return nil, Invalidf("joiner wraps: version must be 3")
	}
	s := &JoinerSet{}
	var err error
	if s.ChannelID, err = checkV3ID("channelId", j.ChannelID); err != nil {
		return nil, err
	}
	if s.AdderID, err = checkV3ID("adderId", j.AdderID); err != nil {
		return nil, err
	}
	if s.Epoch, err = parseSafeUint("epoch", j.Epoch, 1); err != nil {
		return nil, err
	}
	if s.CreatedAt, err = parseSafeUint("createdAt", j.CreatedAt, 0); err != nil {
		return nil, err
	}
	if s.PubECDHE, err = parseV3Point(j.PubECDHE); err != nil {
		return nil, err
	}
	if s.Signature, err = parseV3Bytes("signature", j.Signature, 64); err != nil {
		return nil, err
	}
	if s.Wraps, err = ParseWraps("wraps", j.Wraps, map[string]bool{}, map[string]bool{}); err != nil {
		return nil, err
	}
	return s, nil
}

func appendWraps(dst []byte, wraps []Wrap) []byte {
	for _, w := range wraps {
		dst = AppendFramed(dst, []byte(w.UserID), w.KeyID, w.Wrapped)
	}
	return dst
}

// PartHash is H_i = SHA-256(framed(L_PART, u32be(i), u32be(m), userId, ID, W, ...)).
func PartHash(index int, wraps []Wrap) []byte {
	data := AppendFramed(nil, []byte(v3LabelPart), u32(index), u32(len(wraps)))
	data = appendWraps(data, wraps)
	h := sha256.Sum256(data)
	return h[:]
}

// SignedData is what the creator signs (§13.3).
func (h *EpochHeader) SignedData() []byte {
	data := AppendFramed(nil, []byte(v3LabelRecord), u32(3), []byte(h.ChannelID), u64(h.Epoch), []byte(h.CreatorID),
		u64(h.CreatedAt), h.PubECDHE, h.Commitment, u32(len(h.PartHashes)))
	return AppendFramed(data, h.PartHashes...)
}

// SignedData is what the adder signs, bound to the record's commitment (§13.5).
func (s *JoinerSet) SignedData(commitment []byte) []byte {
	data := AppendFramed(nil, []byte(v3LabelJoin), u32(3), []byte(s.ChannelID), u64(s.Epoch), commitment, []byte(s.AdderID),
		u64(s.CreatedAt), s.PubECDHE, u32(len(s.Wraps)))
	return appendWraps(data, s.Wraps)
}

// Verify checks the adder's signature for the record of commitment.
func (s *JoinerSet) Verify(adder *ecdsa.PublicKey, commitment []byte) bool {
	return VerifyRawSignature(adder, s.SignedData(commitment), s.Signature)
}

// Verify checks the creator's signature over the header.
func (h *EpochHeader) Verify(creator *ecdsa.PublicKey) bool {
	return VerifyRawSignature(creator, h.SignedData(), h.Signature)
}

// CheckParts checks each part against its signed hash.
func (h *EpochHeader) CheckParts(parts [][]Wrap) error {
	if len(parts) != len(h.PartHashes) {
		return Invalidf("the record has %d part hashes but %d parts", len(h.PartHashes), len(parts))
	}
	for i, p := range parts {
		if !bytes.Equal(PartHash(i, p), h.PartHashes[i]) {
			return Invalidf("part %d does not match its signed hash", i)
		}
	}
	return nil
}

// ParseParts reads a record's parts as stored (nil: not uploaded), users and key IDs distinct
// across the whole record, and checks each against its signed hash.
func (h *EpochHeader) ParseParts(raws [][]byte) ([][]Wrap, error) {
	parts := make([][]Wrap, len(raws))
	users, ids := map[string]bool{}, map[string]bool{}
	for i, raw := range raws {
		if raw == nil {
			return nil, Invalidf("part %d of the record was not uploaded", i)
		}
		var list [][]string
		if err := StrictDecode(raw, &list); err != nil {
			return nil, Invalidf("part %d: %v", i, err)
		}
		wraps, err := ParseWraps(fmt.Sprintf("part %d", i), list, users, ids)
		if err != nil {
			return nil, err
		}
		parts[i] = wraps
	}
	if err := h.CheckParts(parts); err != nil {
		return nil, err
	}
	return parts, nil
}

// HeaderJSON renders the header form as the web app writes it (fields in §13.3 order).
func (h *EpochHeader) HeaderJSON() []byte {
	hashes := make([]string, len(h.PartHashes))
	for i, b := range h.PartHashes {
		hashes[i] = b64(b)
	}
	out, _ := json.Marshal(struct {
		Version    int      `json:"version"`
		ChannelID  string   `json:"channelId"`
		Epoch      uint64   `json:"epoch"`
		CreatorID  string   `json:"creatorId"`
		CreatedAt  uint64   `json:"createdAt"`
		PubECDHE   string   `json:"pubECDHE"`
		Commitment string   `json:"commitment"`
		PartHashes []string `json:"partHashes"`
		Signature  string   `json:"signature"`
	}{3, h.ChannelID, h.Epoch, h.CreatorID, h.CreatedAt, b64(h.PubECDHE), b64(h.Commitment), hashes, b64(h.Signature)})
	return out
}

// MessageV3 is a structurally valid v3 message.
type MessageV3 struct {
	CreatedAt uint64
	Epoch     uint64
	IV        []byte
	CT        []byte
	Signature []byte
}

// ParseMessageV3 checks the structure of a v3 props.e2ee (raw JSON).
func ParseMessageV3(raw []byte) (*MessageV3, error) {
	var m messageV3Wire
	if err := StrictDecode(raw, &m); err != nil {
		return nil, Invalidf("v3 message: %v", err)
	}
	if m.Version != 3 {
		return nil, Invalidf("v3 message: version must be 3")
	}
	out := &MessageV3{}
	var err error
	if out.CreatedAt, err = parseSafeUint("createdAt", m.CreatedAt, 0); err != nil {
		return nil, err
	}
	if out.Epoch, err = parseSafeUint("epoch", m.Epoch, 1); err != nil {
		return nil, err
	}
	if out.IV, err = parseV3Bytes("iv", m.IV, 12); err != nil {
		return nil, err
	}
	if out.CT, err = parseV3Bytes("encryptedData", m.EncryptedData, -1); err != nil {
		return nil, err
	}
	if len(out.CT) < 16 {
		return nil, Invalidf("encryptedData is shorter than the AES-GCM tag")
	}
	if out.Signature, err = parseV3Bytes("signature", m.Signature, 64); err != nil {
		return nil, err
	}
	return out, nil
}

// SignedData is S = framed(L_SIG, u32be(3), u64be(createdAt), channelId, rootId, userId,
// u64be(epoch), C, iv, encryptedData), what the sender signs.
func (m *MessageV3) SignedData(ctx Context, commitment []byte) []byte {
	return AppendFramed(nil, []byte(v3LabelSignature), u32(3), u64(m.CreatedAt), []byte(ctx.ChannelID), []byte(ctx.RootID),
		[]byte(ctx.UserID), u64(m.Epoch), commitment, m.IV, m.CT)
}

// Verify checks the sender's signature over SignedData.
func (m *MessageV3) Verify(pub *ecdsa.PublicKey, ctx Context, commitment []byte) bool {
	return VerifyRawSignature(pub, m.SignedData(ctx, commitment), m.Signature)
}
