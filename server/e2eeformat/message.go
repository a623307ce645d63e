package e2eeformat

// props.e2ee of P2P posts: v1 (the original plugin's format, protocol-v1.md) and v2
// (docs/design.md §6).

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
)

// Context is what a v2 or v3 message is bound to (v1 binds nothing).
type Context struct {
	ChannelID string
	RootID    string
	UserID    string
}

// VerifyMessage checks that e2ee (the decoded props.e2ee) is a well-formed v1 or v2 message
// signed with author's key, bound (v2) to ctx.
func VerifyMessage(e2ee any, author *PublicKey, ctx Context) error {
	obj, ok := e2ee.(map[string]any)
	if !ok {
		return Invalidf("props.e2ee must be a JSON object")
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return Invalidf("props.e2ee is not JSON")
	}
	var head struct {
		Version json.RawMessage `json:"version"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return Invalidf("version must be a number")
	}
	version, ok := SafeInteger(head.Version)
	if !ok {
		return Invalidf("version must be an integer")
	}
	pub, err := author.Verifier()
	if err != nil {
		return Invalidf("the author's public key is invalid")
	}
	switch version {
	case 1:
		return verifyV1(raw, pub)
	case 2:
		return verifyV2(raw, pub, ctx)
	default:
		return Invalidf("unsupported version %d", version)
	}
}

// Version reads props.e2ee's version (0 if it is not an object with an integer version) and
// returns the object as JSON.
func Version(e2ee any) (int, []byte) {
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

// wireFields are the fields v1 and v2 share, decoded and size-checked.
type wireFields struct {
	iv, eph, ct, sig []byte
	ids, wrapped     [][]byte
}

// decodeWire checks and decodes the shared fields; v2 also refuses repeated recipients.
func decodeWire(iv, pubECDHE *string, encryptedKey [][]string, encryptedData, signature *string, ivLen int, uniqueRecipients bool) (*wireFields, error) {
	if iv == nil || pubECDHE == nil || encryptedKey == nil || encryptedData == nil || signature == nil {
		return nil, Invalidf("a field is missing")
	}
	var w wireFields
	var err error
	if w.iv, err = Base64Exact("iv", *iv, ivLen); err != nil {
		return nil, err
	}
	if w.eph, err = Base64Exact("pubECDHE", *pubECDHE, PointLen); err != nil {
		return nil, err
	}
	if _, err := DecodePoint(*pubECDHE); err != nil {
		return nil, Invalidf("pubECDHE is not a P-256 point")
	}
	if len(encryptedKey) == 0 {
		return nil, Invalidf("encryptedKey is empty")
	}
	if w.ct, err = Base64Exact("encryptedData", *encryptedData, -1); err != nil {
		return nil, err
	}
	if w.sig, err = Base64Exact("signature", *signature, 64); err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(encryptedKey))
	for i, entry := range encryptedKey {
		if len(entry) != 2 {
			return nil, Invalidf("encryptedKey[%d] must be [keyID, wrappedKey]", i)
		}
		id, err := Base64Exact(fmt.Sprintf("encryptedKey[%d] key ID", i), entry[0], 32)
		if err != nil {
			return nil, err
		}
		wrapped, err := Base64Exact(fmt.Sprintf("encryptedKey[%d] wrapped key", i), entry[1], 24)
		if err != nil {
			return nil, err
		}
		if uniqueRecipients && seen[string(id)] {
			return nil, Invalidf("encryptedKey[%d] repeats a recipient", i)
		}
		seen[string(id)] = true
		w.ids = append(w.ids, id)
		w.wrapped = append(w.wrapped, wrapped)
	}
	return &w, nil
}

type messageV1 struct {
	Version       json.RawMessage `json:"version"` // checked by VerifyMessage
	IV            *string         `json:"iv"`
	PubECDHE      *string         `json:"pubECDHE"`
	EncryptedKey  [][]string      `json:"encryptedKey"`
	EncryptedData *string         `json:"encryptedData"`
	Signature     *string         `json:"signature"`
}

// verifyV1 checks the original plugin's format (protocol-v1.md): the signed data is
// IV || SHA-256(pubECDHE) || LE32(n) || n recipient IDs || LE32(len(ct)) || ct.
func verifyV1(raw []byte, pub *ecdsa.PublicKey) error {
	var m messageV1
	if err := StrictDecode(raw, &m); err != nil {
		return Invalidf("v1 message: %v", err)
	}
	w, err := decodeWire(m.IV, m.PubECDHE, m.EncryptedKey, m.EncryptedData, m.Signature, 16, false)
	if err != nil {
		return err
	}
	ephHash := sha256.Sum256(w.eph)
	data := make([]byte, 0, 16+32+4+32*len(w.ids)+4+len(w.ct))
	data = append(data, w.iv...)
	data = append(data, ephHash[:]...)
	data = binary.LittleEndian.AppendUint32(data, uint32(len(w.ids)))
	for _, id := range w.ids {
		data = append(data, id...)
	}
	data = binary.LittleEndian.AppendUint32(data, uint32(len(w.ct)))
	data = append(data, w.ct...)
	if !VerifyRawSignature(pub, data, w.sig) {
		return Invalidf("the signature does not verify with the author's public key")
	}
	return nil
}

type messageV2 struct {
	Version       json.RawMessage `json:"version"` // checked by VerifyMessage
	CreatedAt     json.RawMessage `json:"createdAt"`
	IV            *string         `json:"iv"`
	PubECDHE      *string         `json:"pubECDHE"`
	EncryptedKey  [][]string      `json:"encryptedKey"`
	EncryptedData *string         `json:"encryptedData"`
	Signature     *string         `json:"signature"`
}

// v2 domain-separation label of the signature (docs/design.md, webapp/src/crypto/v2.ts).
const v2SignatureLabel = "mm-e2ee/p2p/v2/signature"

// verifyV2 checks the v2 format: the signature covers every field plus the channel, thread
// and author, each framed: label, u32be(2), u64be(createdAt), channelId, rootId, userId,
// iv, pubECDHE, u32be(n), then keyID_i and wrapped_i, then the ciphertext.
func verifyV2(raw []byte, pub *ecdsa.PublicKey, ctx Context) error {
	var m messageV2
	if err := StrictDecode(raw, &m); err != nil {
		return Invalidf("v2 message: %v", err)
	}
	if m.CreatedAt == nil {
		return Invalidf("v2 message: a field is missing")
	}
	if ctx.ChannelID == "" || ctx.UserID == "" {
		return Invalidf("v2 message: no channel or author to verify against")
	}
	createdAt, ok := SafeInteger(m.CreatedAt)
	if !ok {
		return Invalidf("createdAt must be a non-negative integer (ms since epoch)")
	}
	w, err := decodeWire(m.IV, m.PubECDHE, m.EncryptedKey, m.EncryptedData, m.Signature, 12, true)
	if err != nil {
		return err
	}
	if len(w.ct) < 16 {
		return Invalidf("encryptedData is shorter than the AES-GCM tag")
	}
	data := make([]byte, 0, 256+len(w.ct)+60*len(w.ids))
	data = AppendFramed(data,
		[]byte(v2SignatureLabel),
		u32(2),
		u64(createdAt),
		[]byte(ctx.ChannelID), []byte(ctx.RootID), []byte(ctx.UserID),
		w.iv, w.eph,
		u32(len(w.ids)),
	)
	for i := range w.ids {
		data = AppendFramed(data, w.ids[i], w.wrapped[i])
	}
	data = AppendFramed(data, w.ct)
	if !VerifyRawSignature(pub, data, w.sig) {
		return Invalidf("the signature does not verify with the author's public key for this channel, thread and author")
	}
	return nil
}
