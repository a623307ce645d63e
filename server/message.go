package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
)

// InvalidMessageError says why props.e2ee is not an acceptable encrypted message.
type InvalidMessageError struct{ Reason string }

func (e *InvalidMessageError) Error() string { return "invalid encrypted message: " + e.Reason }

func invalidf(format string, a ...any) error {
	return &InvalidMessageError{Reason: fmt.Sprintf(format, a...)}
}

// messageContext is what a v2 message is bound to (v1 binds nothing).
type messageContext struct {
	ChannelID string
	RootID    string
	UserID    string
}

// strictDecode decodes v into out refusing unknown fields and trailing data: an unknown
// field could carry plaintext past the server.
func strictDecode(data []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}

func b64Exact(field, s string, n int) ([]byte, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, invalidf("%s is not standard base64", field)
	}
	if n >= 0 && len(b) != n {
		return nil, invalidf("%s must be %d bytes, got %d", field, n, len(b))
	}
	return b, nil
}

// verifyEncryptedMessage checks that e2ee (the decoded props.e2ee) is a well-formed v1 or v2
// message signed with author's key, bound (v2) to ctx.
func verifyEncryptedMessage(e2ee any, author *PublicKey, ctx messageContext) error {
	obj, ok := e2ee.(map[string]any)
	if !ok {
		return invalidf("props.e2ee must be a JSON object")
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return invalidf("props.e2ee is not JSON")
	}
	var head struct {
		Version json.Number `json:"version"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return invalidf("version must be a number")
	}
	pub, err := author.verifier()
	if err != nil {
		return invalidf("the author's public key is invalid")
	}
	switch head.Version.String() {
	case "1":
		return verifyV1(raw, pub)
	case "2":
		return verifyV2(raw, pub, ctx)
	default:
		return invalidf("unsupported version %q", head.Version.String())
	}
}

type messageV1 struct {
	Version       int        `json:"version"`
	IV            *string    `json:"iv"`
	PubECDHE      *string    `json:"pubECDHE"`
	EncryptedKey  [][]string `json:"encryptedKey"`
	EncryptedData *string    `json:"encryptedData"`
	Signature     *string    `json:"signature"`
}

// verifyV1 checks the original plugin's format (protocol-v1.md): the signed data is
// IV || SHA-256(pubECDHE) || LE32(n) || n recipient IDs || LE32(len(ct)) || ct.
func verifyV1(raw []byte, pub *ecdsa.PublicKey) error {
	var m messageV1
	if err := strictDecode(raw, &m); err != nil {
		return invalidf("v1 message: %v", err)
	}
	if m.IV == nil || m.PubECDHE == nil || m.EncryptedKey == nil || m.EncryptedData == nil || m.Signature == nil {
		return invalidf("v1 message: a field is missing")
	}
	iv, err := b64Exact("iv", *m.IV, 16)
	if err != nil {
		return err
	}
	if _, err := b64Exact("pubECDHE", *m.PubECDHE, pointLen); err != nil {
		return err
	}
	eph, err := decodePoint(*m.PubECDHE)
	if err != nil {
		return invalidf("pubECDHE is not a P-256 point")
	}
	if len(m.EncryptedKey) == 0 {
		return invalidf("encryptedKey is empty")
	}
	ct, err := b64Exact("encryptedData", *m.EncryptedData, -1)
	if err != nil {
		return err
	}
	sig, err := b64Exact("signature", *m.Signature, 64)
	if err != nil {
		return err
	}
	ephHash := sha256.Sum256(eph)
	data := make([]byte, 0, 16+32+4+32*len(m.EncryptedKey)+4+len(ct))
	data = append(data, iv...)
	data = append(data, ephHash[:]...)
	data = binary.LittleEndian.AppendUint32(data, uint32(len(m.EncryptedKey)))
	for i, entry := range m.EncryptedKey {
		if len(entry) != 2 {
			return invalidf("encryptedKey[%d] must be [keyID, wrappedKey]", i)
		}
		id, err := b64Exact(fmt.Sprintf("encryptedKey[%d] key ID", i), entry[0], 32)
		if err != nil {
			return err
		}
		if _, err := b64Exact(fmt.Sprintf("encryptedKey[%d] wrapped key", i), entry[1], 24); err != nil {
			return err
		}
		data = append(data, id...)
	}
	data = binary.LittleEndian.AppendUint32(data, uint32(len(ct)))
	data = append(data, ct...)
	if !verifyRawSignature(pub, data, sig) {
		return invalidf("the signature does not verify with the author's public key")
	}
	return nil
}

type messageV2 struct {
	Version       int          `json:"version"`
	CreatedAt     *json.Number `json:"createdAt"`
	IV            *string      `json:"iv"`
	PubECDHE      *string      `json:"pubECDHE"`
	EncryptedKey  [][]string   `json:"encryptedKey"`
	EncryptedData *string      `json:"encryptedData"`
	Signature     *string      `json:"signature"`
}

// v2 domain-separation label of the signature (docs/design.md, webapp/src/crypto/v2.ts).
const v2SignatureLabel = "mm-e2ee/p2p/v2/signature"

// maxSafeInteger is JavaScript's Number.MAX_SAFE_INTEGER, the bound of createdAt.
const maxSafeInteger = 1<<53 - 1

// appendFramed appends u32be(len(item)) || item, the v2 framing that keeps item lists unambiguous.
func appendFramed(dst []byte, items ...[]byte) []byte {
	for _, it := range items {
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(it)))
		dst = append(dst, it...)
	}
	return dst
}

// verifyV2 checks the v2 format: the signature covers every field plus the channel, thread
// and author, each framed: label, u32be(2), u64be(createdAt), channelId, rootId, userId,
// iv, pubECDHE, u32be(n), then keyID_i and wrapped_i, then the ciphertext.
func verifyV2(raw []byte, pub *ecdsa.PublicKey, ctx messageContext) error {
	var m messageV2
	if err := strictDecode(raw, &m); err != nil {
		return invalidf("v2 message: %v", err)
	}
	if m.CreatedAt == nil || m.IV == nil || m.PubECDHE == nil || m.EncryptedKey == nil || m.EncryptedData == nil || m.Signature == nil {
		return invalidf("v2 message: a field is missing")
	}
	if ctx.ChannelID == "" || ctx.UserID == "" {
		return invalidf("v2 message: no channel or author to verify against")
	}
	createdAt, err := strconv.ParseUint(m.CreatedAt.String(), 10, 64)
	if err != nil || createdAt > maxSafeInteger {
		return invalidf("createdAt must be a non-negative integer (ms since epoch)")
	}
	iv, err := b64Exact("iv", *m.IV, 12)
	if err != nil {
		return err
	}
	eph, err := b64Exact("pubECDHE", *m.PubECDHE, pointLen)
	if err != nil {
		return err
	}
	if _, err := decodePoint(*m.PubECDHE); err != nil {
		return invalidf("pubECDHE is not a P-256 point")
	}
	if len(m.EncryptedKey) == 0 {
		return invalidf("encryptedKey is empty")
	}
	ct, err := b64Exact("encryptedData", *m.EncryptedData, -1)
	if err != nil {
		return err
	}
	if len(ct) < 16 {
		return invalidf("encryptedData is shorter than the AES-GCM tag")
	}
	sig, err := b64Exact("signature", *m.Signature, 64)
	if err != nil {
		return err
	}
	data := make([]byte, 0, 256+len(ct)+60*len(m.EncryptedKey))
	data = appendFramed(data,
		[]byte(v2SignatureLabel),
		binary.BigEndian.AppendUint32(nil, 2),
		binary.BigEndian.AppendUint64(nil, createdAt),
		[]byte(ctx.ChannelID), []byte(ctx.RootID), []byte(ctx.UserID),
		iv, eph,
		binary.BigEndian.AppendUint32(nil, uint32(len(m.EncryptedKey))),
	)
	seen := make(map[string]bool, len(m.EncryptedKey))
	for i, entry := range m.EncryptedKey {
		if len(entry) != 2 {
			return invalidf("encryptedKey[%d] must be [keyID, wrappedKey]", i)
		}
		id, err := b64Exact(fmt.Sprintf("encryptedKey[%d] key ID", i), entry[0], 32)
		if err != nil {
			return err
		}
		wrapped, err := b64Exact(fmt.Sprintf("encryptedKey[%d] wrapped key", i), entry[1], 24)
		if err != nil {
			return err
		}
		if seen[entry[0]] {
			return invalidf("encryptedKey[%d] repeats a recipient", i)
		}
		seen[entry[0]] = true
		data = appendFramed(data, id, wrapped)
	}
	data = appendFramed(data, ct)
	if !verifyRawSignature(pub, data, sig) {
		return invalidf("the signature does not verify with the author's public key for this channel, thread and author")
	}
	return nil
}
