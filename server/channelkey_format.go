package main

// Channel-key mode formats (docs/design.md §13): epoch record header and parts, joiner wraps and
// message v3, checked byte for byte as webapp/src/crypto/epoch.ts and v3.ts write them. Kept apart
// from message.go's v1/v2 rules.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/binary"
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
	// v3PartMax is the most wraps in a part or joiner set (about 55 KB of JSON).
	v3PartMax = 400
	// v3MaxParts bounds a record: 100 parts of 400 wraps, 40,000 members.
	v3MaxParts = 100
)

var v3IDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// epochWrap is one [userId, keyID, wrapped] entry.
type epochWrap struct {
	UserID  string
	KeyID   []byte
	Wrapped []byte
}

// epochHeader is the header form of an epoch record (part hashes instead of parts).
type epochHeader struct {
	ChannelID  string
	Epoch      uint64
	CreatorID  string
	CreatedAt  uint64
	PubECDHE   []byte
	Commitment []byte
	PartHashes [][]byte
	Signature  []byte
}

type epochHeaderJSON struct {
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

type joinerJSON struct {
	Version   int          `json:"version"`
	ChannelID *string      `json:"channelId"`
	Epoch     *jsonNumeral `json:"epoch"`
	AdderID   *string      `json:"adderId"`
	CreatedAt *jsonNumeral `json:"createdAt"`
	PubECDHE  *string      `json:"pubECDHE"`
	Wraps     [][]string   `json:"wraps"`
	Signature *string      `json:"signature"`
}

type joinerSet struct {
	ChannelID string
	Epoch     uint64
	AdderID   string
	CreatedAt uint64
	PubECDHE  []byte
	Wraps     []epochWrap
	Signature []byte
}

type messageV3 struct {
	Version       int          `json:"version"`
	CreatedAt     *jsonNumeral `json:"createdAt"`
	Epoch         *jsonNumeral `json:"epoch"`
	IV            *string      `json:"iv"`
	EncryptedData *string      `json:"encryptedData"`
	Signature     *string      `json:"signature"`
}

func checkV3ID(field string, s *string) (string, error) {
	if s == nil || !v3IDPattern.MatchString(*s) {
		return "", invalidf("%s must be an ID of 1-64 characters A-Z a-z 0-9 _ -", field)
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
		return 0, invalidf("%s is missing", field)
	}
	v, err := strconv.ParseUint(string(*n), 10, 64)
	if err != nil || v > maxSafeInteger || v < min {
		return 0, invalidf("%s must be an integer from %d to 2^53-1", field, min)
	}
	return v, nil
}

func parseV3Point(s *string) ([]byte, error) {
	if s == nil {
		return nil, invalidf("pubECDHE is missing")
	}
	raw, err := b64Exact("pubECDHE", *s, pointLen)
	if err != nil {
		return nil, err
	}
	if _, err := decodePoint(*s); err != nil {
		return nil, invalidf("pubECDHE is not a P-256 point")
	}
	return raw, nil
}

func parseV3Bytes(field string, s *string, n int) ([]byte, error) {
	if s == nil {
		return nil, invalidf("%s is missing", field)
	}
	return b64Exact(field, *s, n)
}

// parseWraps checks a list of wraps: 1..v3PartMax entries, users and key IDs distinct (seen
// maps span a whole record).
func parseWraps(field string, list [][]string, seenUsers, seenIDs map[string]bool) ([]epochWrap, error) {
	if len(list) == 0 || len(list) > v3PartMax {
		return nil, invalidf("%s must hold 1 to %d wraps", field, v3PartMax)
	}
	out := make([]epochWrap, 0, len(list))
	for i, w := range list {
		f := fmt.Sprintf("%s[%d]", field, i)
		if len(w) != 3 {
			return nil, invalidf("%s must be [userId, keyID, wrappedKey]", f)
		}
		uid, err := checkV3ID(f+" userId", &w[0])
		if err != nil {
			return nil, err
		}
		id, err := b64Exact(f+" key ID", w[1], 32)
		if err != nil {
			return nil, err
		}
		wrapped, err := b64Exact(f+" wrapped key", w[2], 40)
		if err != nil {
			return nil, err
		}
		if seenUsers[uid] || seenIDs[w[1]] {
			return nil, invalidf("%s repeats a user or key", f)
		}
		seenUsers[uid] = true
		seenIDs[w[1]] = true
		out = append(out, epochWrap{UserID: uid, KeyID: id, Wrapped: wrapped})
	}
	return out, nil
}

// parsePartJSON reads one stored or uploaded part: a JSON array of wraps.
func parsePartJSON(raw []byte) ([]epochWrap, error) {
	var list [][]string
	if err := strictDecode(raw, &list); err != nil {
		return nil, invalidf("part: %v", err)
	}
	return parseWraps("part", list, map[string]bool{}, map[string]bool{})
}

func parseEpochHeaderJSON(raw []byte) (*epochHeader, error) {
	var j epochHeaderJSON
	if err := strictDecode(raw, &j); err != nil {
		return nil, invalidf("epoch record: %v", err)
	}
	if j.Version != 3 {
		return nil, invalidf("epoch record: version must be 3")
	}
	h := &epochHeader{}
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
	if len(j.PartHashes) == 0 || len(j.PartHashes) > v3MaxParts {
		return nil, invalidf("partHashes must hold 1 to %d hashes", v3MaxParts)
	}
	for i, s := range j.PartHashes {
		b, err := b64Exact(fmt.Sprintf("partHashes[%d]", i), s, 32)
		if err != nil {
			return nil, err
		}
		h.PartHashes = append(h.PartHashes, b)
	}
	return h, nil
}

func parseJoinerJSON(raw []byte) (*joinerSet, error) {
	var j joinerJSON
	if err := strictDecode(raw, &j); err != nil {
		return nil, invalidf("joiner wraps: %v", err)
	}
	if j.Version != 3 {
		return nil, invalidf("joiner wraps: version must be 3")
	}
	s := &joinerSet{}
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
	if s.Wraps, err = parseWraps("wraps", j.Wraps, map[string]bool{}, map[string]bool{}); err != nil {
		return nil, err
	}
	return s, nil
}

func u32(n int) []byte    { return binary.BigEndian.AppendUint32(nil, uint32(n)) }
func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

func appendWraps(dst []byte, wraps []epochWrap) []byte {
	for _, w := range wraps {
		dst = appendFramed(dst, []byte(w.UserID), w.KeyID, w.Wrapped)
	}
	return dst
}

// partHash is H_i = SHA-256(framed(L_PART, u32be(i), u32be(m), userId, ID, W, ...)).
func partHash(index int, wraps []epochWrap) []byte {
	data := appendFramed(nil, []byte(v3LabelPart), u32(index), u32(len(wraps)))
	data = appendWraps(data, wraps)
	h := sha256.Sum256(data)
	return h[:]
}

func (h *epochHeader) signedData() []byte {
	data := appendFramed(nil, []byte(v3LabelRecord), u32(3), []byte(h.ChannelID), u64(h.Epoch), []byte(h.CreatorID),
		u64(h.CreatedAt), h.PubECDHE, h.Commitment, u32(len(h.PartHashes)))
	return appendFramed(data, h.PartHashes...)
}

func (s *joinerSet) signedData(commitment []byte) []byte {
	data := appendFramed(nil, []byte(v3LabelJoin), u32(3), []byte(s.ChannelID), u64(s.Epoch), commitment, []byte(s.AdderID),
		u64(s.CreatedAt), s.PubECDHE, u32(len(s.Wraps)))
	return appendWraps(data, s.Wraps)
}

// verifyHeader checks the creator's signature over the header.
func (h *epochHeader) verify(creator *ecdsa.PublicKey) bool {
	return verifyRawSignature(creator, h.signedData(), h.Signature)
}

// checkParts checks each part against its signed hash.
func (h *epochHeader) checkParts(parts [][]epochWrap) error {
	if len(parts) != len(h.PartHashes) {
		return invalidf("the record has %d part hashes but %d parts", len(h.PartHashes), len(parts))
	}
	for i, p := range parts {
		if !bytes.Equal(partHash(i, p), h.PartHashes[i]) {
			return invalidf("part %d does not match its signed hash", i)
		}
	}
	return nil
}

// headerJSON renders the header form as the web app writes it (fields in §13.3 order).
func (h *epochHeader) headerJSON() []byte {
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

// parsedV3 is a structurally valid v3 message.
type parsedV3 struct {
	CreatedAt uint64
	Epoch     uint64
	IV        []byte
	CT        []byte
	Signature []byte
}

// parseMessageV3 checks the structure of a v3 props.e2ee (raw JSON).
func parseMessageV3(raw []byte) (*parsedV3, error) {
	var m messageV3
	if err := strictDecode(raw, &m); err != nil {
		return nil, invalidf("v3 message: %v", err)
	}
	if m.Version != 3 {
		return nil, invalidf("v3 message: version must be 3")
	}
	out := &parsedV3{}
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
		return nil, invalidf("encryptedData is shorter than the AES-GCM tag")
	}
	if out.Signature, err = parseV3Bytes("signature", m.Signature, 64); err != nil {
		return nil, err
	}
	return out, nil
}

// verifyV3 checks the sender's signature over S = framed(L_SIG, u32be(3), u64be(createdAt),
// channelId, rootId, userId, u64be(epoch), C, iv, encryptedData).
func (m *parsedV3) verify(pub *ecdsa.PublicKey, ctx messageContext, commitment []byte) bool {
	data := appendFramed(nil, []byte(v3LabelSignature), u32(3), u64(m.CreatedAt), []byte(ctx.ChannelID), []byte(ctx.RootID),
		[]byte(ctx.UserID), u64(m.Epoch), commitment, m.IV, m.CT)
	return verifyRawSignature(pub, data, m.Signature)
}

// e2eeVersion reads props.e2ee's version (0 if it is not an object with an integer version).
func e2eeVersion(e2ee any) (int, []byte) {
	obj, ok := e2ee.(map[string]any)
	if !ok {
		return 0, nil
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return 0, nil
	}
	var head struct {
		Version json.Number `json:"version"`
	}
	if json.Unmarshal(raw, &head) != nil {
		return 0, raw
	}
	v, err := strconv.Atoi(head.Version.String())
	if err != nil {
		return 0, raw
	}
	return v, raw
}
