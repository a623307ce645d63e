package e2eeformat

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"math/big"
)

// PointLen is the size of an uncompressed P-256 point: 04 || X || Y.
const PointLen = 65

// PublicKey is a user's public key as on the wire and in KV: standard base64 of uncompressed points.
type PublicKey struct {
	Sign string `json:"sign"`
	Encr string `json:"encr"`
}

// ErrBadPublicKey: a key that is not two distinct base64 P-256 points.
var ErrBadPublicKey = errors.New("invalid public key")

// DecodePoint checks that s is standard padded base64 of a 65-byte uncompressed point on P-256,
// in its one canonical spelling (as Base64Exact: Go's decoder would skip CR and LF).
func DecodePoint(s string) ([]byte, error) {
	raw, err := Base64Exact("point", s, PointLen)
	if err != nil || raw[0] != 4 {
		return nil, ErrBadPublicKey
	}
	// crypto/ecdh refuses the point at infinity, points off the curve and coordinates >= p.
	if _, err := ecdh.P256().NewPublicKey(raw); err != nil {
		return nil, ErrBadPublicKey
	}
	return raw, nil
}

// Validate checks both points; the two halves must be distinct keys.
func (k *PublicKey) Validate() error {
	if k == nil {
		return ErrBadPublicKey
	}
	sign, err := DecodePoint(k.Sign)
	if err != nil {
		return errors.New("invalid public key: sign is not a base64 P-256 point")
	}
	encr, err := DecodePoint(k.Encr)
	if err != nil {
		return errors.New("invalid public key: encr is not a base64 P-256 point")
	}
	if bytes.Equal(sign, encr) {
		return errors.New("invalid public key: sign and encr must be distinct keys")
	}
	return nil
}

// ID is SHA-256(raw(encr) || raw(sign)), the public key ID used in encryptedKey.
func (k *PublicKey) ID() ([]byte, error) {
	sign, err := DecodePoint(k.Sign)
	if err != nil {
		return nil, err
	}
	encr, err := DecodePoint(k.Encr)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write(encr)
	h.Write(sign)
	return h.Sum(nil), nil
}

// Verifier returns the ECDSA key that checks this user's signatures.
func (k *PublicKey) Verifier() (*ecdsa.PublicKey, error) {
	raw, err := DecodePoint(k.Sign)
	if err != nil {
		return nil, err
	}
	return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
}

// Marshal is the key as JSON, as stored.
func (k *PublicKey) Marshal() []byte {
	b, _ := json.Marshal(k)
	return b
}

// VerifyRawSignature checks an ECDSA P-256 SHA-256 signature in WebCrypto's raw r || s form.
func VerifyRawSignature(pub *ecdsa.PublicKey, data, sig []byte) bool {
	if len(sig) != 64 {
		return false
	}
	digest := sha256.Sum256(data)
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:])
	return ecdsa.Verify(pub, digest[:], r, s)
}
