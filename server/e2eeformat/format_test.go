package e2eeformat

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The seeds are what they claim: the signed inputs verify, the vectors' forgeries do not.
func TestFixturesVerify(t *testing.T) {
	f := loadFixtures()
	require.GreaterOrEqual(t, len(f.messages), 10)
	for _, m := range f.messages {
		assert.NoError(t, VerifyMessage(m.e2ee, &f.keys[m.key], m.ctx), m.name)
	}
	require.Len(t, f.bad, 4)
	for _, m := range f.bad {
		assert.Error(t, VerifyMessage(m.e2ee, &f.keys[m.key], m.ctx), m.name)
	}
	assert.NoError(t, VerifyPushProof(&f.keys[keyTest], f.proofUser, f.proofOnce, f.proof))
	assert.ErrorIs(t, VerifyPushProof(&f.keys[keyTest], f.proofUser, f.proofOnce+"x", f.proof), ErrProofMismatch)
}

// The worked example of docs/design.md §13.8 (written by the web app's core and rebuilt by an
// independent Node implementation) verifies here byte for byte; any flipped bit does not.
func TestV3WorkedExampleOfTheDesignVerifies(t *testing.T) {
	f := loadFixtures()
	pub, err := f.keys[keyAlice].Verifier()
	require.NoError(t, err)
	part, err := ParsePart(f.part)
	require.NoError(t, err)
	parts := [][]Wrap{part}
	h, err := ParseEpochHeader(f.record)
	require.NoError(t, err)
	assert.True(t, h.Verify(pub))
	require.NoError(t, h.CheckParts(parts))
	assert.Equal(t, f.record, h.HeaderJSON(), "the header form is written as the web app writes it")
	m, err := ParseMessageV3(f.v3)
	require.NoError(t, err)
	ctx := f.v3Ctx
	assert.True(t, m.Verify(pub, ctx, h.Commitment))
	for i := range len(h.Commitment) * 8 {
		c := bytes.Clone(h.Commitment)
		c[i/8] ^= 1 << (i % 8)
		assert.False(t, m.Verify(pub, ctx, c))
		h2 := *h
		h2.Commitment = c
		assert.False(t, h2.Verify(pub))
	}
	assert.False(t, m.Verify(pub, Context{ChannelID: h.ChannelID, RootID: "x", UserID: ctx.UserID}, h.Commitment))
	parts[0][1].Wrapped[0] ^= 1
	assert.Error(t, h.CheckParts(parts))

	set, err := ParseJoiners(f.joiner)
	require.NoError(t, err)
	bob, err := f.keys[keyBob].Verifier()
	require.NoError(t, err)
	assert.True(t, VerifyRawSignature(bob, set.SignedData(h.Commitment), set.Signature))
	assert.False(t, VerifyRawSignature(pub, set.SignedData(h.Commitment), set.Signature))
}
