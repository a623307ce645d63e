package e2eeformat

import "errors"

// PushProofLabel starts what a key's proof of possession signs (docs/design.md §4).
const PushProofLabel = "mm-e2ee/pubkey-push/v1"

// ErrProofMismatch: the proof is not the key's signature over the nonce.
var ErrProofMismatch = errors.New("proof does not verify")

// PushProofMessage is what the proof signs: UTF-8 of label "\n" userID "\n" nonce.
func PushProofMessage(userID, nonce string) []byte {
	return []byte(PushProofLabel + "\n" + userID + "\n" + nonce)
}

// DecodeSignature decodes strict standard base64 of a 64-byte ECDSA signature (r || s).
func DecodeSignature(s string) ([]byte, error) {
	return Base64Exact("signature", s, 64)
}

// VerifyPushProof checks that sig is key's sign signature over PushProofMessage(userID, nonce):
// ErrBadPublicKey for an invalid key, ErrProofMismatch for any other signature.
func VerifyPushProof(key *PublicKey, userID, nonce string, sig []byte) error {
	pub, err := key.Verifier()
	if err != nil {
		return ErrBadPublicKey
	}
	if !VerifyRawSignature(pub, PushProofMessage(userID, nonce), sig) {
		return ErrProofMismatch
	}
	return nil
}
