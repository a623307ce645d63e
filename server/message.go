package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
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

// strictDecode decodes data into out (a pointer to a struct) refusing unknown fields, repeated
// fields and trailing data: any of them could carry plaintext past the server.
func strictDecode(data []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data")
	}
	return exactFields(data, reflect.TypeOf(out))
}

// exactFields checks object keys against the json tags of t, exactly: encoding/json matches
// names case-insensitively, so {"IV": "<text>", "iv": "<valid>"} would pass DisallowUnknownFields
// with the text ignored but stored. Nested structs are checked too.
func exactFields(data []byte, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	fields := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			fields[name] = t.Field(i).Type
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil // null, or a type json.Decode already refused
	}
	seen := make(map[string]bool, len(fields))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		ft, ok := fields[key]
		if !ok {
			return fmt.Errorf("json: unknown field %q", key)
		}
		if seen[key] {
			return fmt.Errorf("json: field %q given twice", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		if err := exactFields(raw, ft); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	return nil
}

// b64Exact decodes strict standard base64 (docs/design.md §3): Go's decoder skips CR and LF
// even in strict mode, and the web app refuses them, so they are refused here first.
func b64Exact(field, s string, n int) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, invalidf("%s is not standard base64", field)
	}
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
		Version json.RawMessage `json:"version"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return invalidf("version must be a number")
	}
	version, ok := jsonSafeInteger(head.Version)
	if !ok {
		return invalidf("version must be an integer")
	}
	pub, err := author.verifier()
	if err != nil {
		return invalidf("the author's public key is invalid")
	}
	switch version {
	case 1:
		return verifyV1(raw, pub)
	case 2:
		return verifyV2(raw, pub, ctx)
	default:
		return invalidf("unsupported version %d", version)
	}
}

// jsonSafeInteger reads a JSON number token whose value is an integer in [0, 2^53-1], judged
// by value as JavaScript does (1e3 and 1000.0 are 1000); strings, -0 and negatives are refused.
func jsonSafeInteger(raw json.RawMessage) (uint64, bool) {
	if len(raw) == 0 || raw[0] < '0' || raw[0] > '9' {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != math.Trunc(f) || f > maxSafeInteger {
		return 0, false
	}
	return uint64(f), true
}

// wireFields are the fields v1 and v2 share, decoded and size-checked.
type wireFields struct {
	iv, eph, ct, sig []byte
	ids, wrapped     [][]byte
}

// decodeWire checks and decodes the shared fields; v2 also refuses repeated recipients.
func decodeWire(iv, pubECDHE *string, encryptedKey [][]string, encryptedData, signature *string, ivLen int, uniqueRecipients bool) (*wireFields, error) {
	if iv == nil || pubECDHE == nil || encryptedKey == nil || encryptedData == nil || signature == nil {
		return nil, invalidf("a field is missing")
	}
	var w wireFields
	var err error
	if w.iv, err = b64Exact("iv", *iv, ivLen); err != nil {
		return nil, err
	}
	if w.eph, err = b64Exact("pubECDHE", *pubECDHE, pointLen); err != nil {
		return nil, err
	}
	if _, err := decodePoint(*pubECDHE); err != nil {
		return nil, invalidf("pubECDHE is not a P-256 point")
	}
	if len(encryptedKey) == 0 {
		return nil, invalidf("encryptedKey is empty")
	}
	if w.ct, err = b64Exact("encryptedData", *encryptedData, -1); err != nil {
		return nil, err
	}
	if w.sig, err = b64Exact("signature", *signature, 64); err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(encryptedKey))
	for i, entry := range encryptedKey {
		if len(entry) != 2 {
			return nil, invalidf("encryptedKey[%d] must be [keyID, wrappedKey]", i)
		}
		id, err := b64Exact(fmt.Sprintf("encryptedKey[%d] key ID", i), entry[0], 32)
		if err != nil {
			return nil, err
		}
		wrapped, err := b64Exact(fmt.Sprintf("encryptedKey[%d] wrapped key", i), entry[1], 24)
		if err != nil {
			return nil, err
		}
		if uniqueRecipients && seen[string(id)] {
			return nil, invalidf("encryptedKey[%d] repeats a recipient", i)
		}
		seen[string(id)] = true
		w.ids = append(w.ids, id)
		w.wrapped = append(w.wrapped, wrapped)
	}
	return &w, nil
}

type messageV1 struct {
	Version       json.RawMessage `json:"version"` // checked by verifyEncryptedMessage
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
	if err := strictDecode(raw, &m); err != nil {
		return invalidf("v1 message: %v", err)
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
	if !verifyRawSignature(pub, data, w.sig) {
		return invalidf("the signature does not verify with the author's public key")
	}
	return nil
}

type messageV2 struct {
	Version       json.RawMessage `json:"version"` // checked by verifyEncryptedMessage
	CreatedAt     json.RawMessage `json:"createdAt"`
	IV            *string         `json:"iv"`
	PubECDHE      *string         `json:"pubECDHE"`
	EncryptedKey  [][]string      `json:"encryptedKey"`
	EncryptedData *string         `json:"encryptedData"`
	Signature     *string         `json:"signature"`
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
	if m.CreatedAt == nil {
		return invalidf("v2 message: a field is missing")
	}
	if ctx.ChannelID == "" || ctx.UserID == "" {
		return invalidf("v2 message: no channel or author to verify against")
	}
	createdAt, ok := jsonSafeInteger(m.CreatedAt)
	if !ok {
		return invalidf("createdAt must be a non-negative integer (ms since epoch)")
	}
	w, err := decodeWire(m.IV, m.PubECDHE, m.EncryptedKey, m.EncryptedData, m.Signature, 12, true)
	if err != nil {
		return err
	}
	if len(w.ct) < 16 {
		return invalidf("encryptedData is shorter than the AES-GCM tag")
	}
	data := make([]byte, 0, 256+len(w.ct)+60*len(w.ids))
	data = appendFramed(data,
		[]byte(v2SignatureLabel),
		binary.BigEndian.AppendUint32(nil, 2),
		binary.BigEndian.AppendUint64(nil, createdAt),
		[]byte(ctx.ChannelID), []byte(ctx.RootID), []byte(ctx.UserID),
		w.iv, w.eph,
		binary.BigEndian.AppendUint32(nil, uint32(len(w.ids))),
	)
	for i := range w.ids {
		data = appendFramed(data, w.ids[i], w.wrapped[i])
	}
	data = appendFramed(data, w.ct)
	if !verifyRawSignature(pub, data, w.sig) {
		return invalidf("the signature does not verify with the author's public key for this channel, thread and author")
	}
	return nil
}
