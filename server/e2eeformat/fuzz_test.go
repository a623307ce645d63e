package e2eeformat

// Fuzz targets (go test -fuzz; make fuzz runs each for a while, make test briefly). Beyond "no
// panic, no hang": what a verifier accepts is always one of the signed seeds (no forgery from
// mutation), every error is an *InvalidMessageError, and what parses serializes back to the same.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func requireInvalid(t *testing.T, err error) {
	t.Helper()
	var inv *InvalidMessageError
	if !errors.As(err, &inv) {
		t.Fatalf("an error of another type: %T %v", err, err)
	}
}

// withoutSignature drops the signature field: ECDSA signatures are malleable ((r, s) and
// (r, n-s) both verify), so the property is about the signed content.
func withoutSignature(v any) any {
	obj, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(obj))
	for k, x := range obj {
		if k != "signature" {
			out[k] = x
		}
	}
	return out
}

func sameContent(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(withoutSignature(x), withoutSignature(y))
}

// FuzzVerifyMessage: props.e2ee (v1, v2) as a post carries it, with one of the known keys and a
// context. Accepted means: a signed seed's content for that key (and context, v2).
func FuzzVerifyMessage(f *testing.F) {
	fx := loadFixtures()
	for _, m := range append(append([]known{}, fx.messages...), fx.bad...) {
		f.Add(mustJSON(m.e2ee), uint8(m.key), m.ctx.ChannelID, m.ctx.RootID, m.ctx.UserID)
	}
	f.Add([]byte(`{"version":2}`), uint8(0), "c", "", "u")
	f.Add([]byte(`{"version":1e400}`), uint8(0), "", "", "")
	f.Fuzz(func(t *testing.T, text []byte, key uint8, channelID, rootID, userID string) {
		var e2ee any
		if json.Unmarshal(text, &e2ee) != nil {
			return
		}
		k := fx.keys[int(key)%len(fx.keys)]
		ctx := Context{ChannelID: channelID, RootID: rootID, UserID: userID}
		Version(e2ee)
		err := VerifyMessage(e2ee, &k, ctx)
		if err != nil {
			requireInvalid(t, err)
			return
		}
		for _, m := range fx.messages {
			if fx.keys[m.key] == k && sameMessage(m, e2ee, ctx) {
				return
			}
		}
		t.Fatalf("accepted a message that no one signed: %s", text)
	})
}

// marshalV3 writes a v3 message as the web app does (docs/design.md §13.4).
func marshalV3(m *MessageV3) []byte {
	return mustJSON(map[string]any{"version": 3, "createdAt": m.CreatedAt, "epoch": m.Epoch, "iv": b64(m.IV),
		"encryptedData": b64(m.CT), "signature": b64(m.Signature)})
}

// FuzzMessageV3: a v3 props.e2ee with a context and a commitment. Parse, write, parse gives the
// same message; accepted with alice's key means the §13.8 example in its context and epoch.
func FuzzMessageV3(f *testing.F) {
	fx := loadFixtures()
	f.Add(fx.v3, fx.v3Ctx.ChannelID, fx.v3Ctx.RootID, fx.v3Ctx.UserID, fx.commit)
	f.Add([]byte(`{"version":3,"createdAt":0,"epoch":9007199254740991,"iv":"AAAAAAAAAAAAAAAA","encryptedData":"AAAAAAAAAAAAAAAAAAAAAA==","signature":""}`), "c", "r", "u", []byte{})
	pub, err := fx.keys[keyAlice].Verifier()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text []byte, channelID, rootID, userID string, commitment []byte) {
		m, err := ParseMessageV3(text)
		if err != nil {
			requireInvalid(t, err)
			return
		}
		again, err := ParseMessageV3(marshalV3(m))
		if err != nil || !reflect.DeepEqual(m, again) {
			t.Fatalf("parse, write, parse changed %s: %v", text, err)
		}
		ctx := Context{ChannelID: channelID, RootID: rootID, UserID: userID}
		if m.Verify(pub, ctx, commitment) && (ctx != fx.v3Ctx || !bytes.Equal(commitment, fx.commit) || !sameContent(text, fx.v3)) {
			t.Fatalf("accepted a v3 message that no one signed: %s in %+v", text, ctx)
		}
	})
}

// FuzzEpochHeader: a record's header form. Parse, write, parse is stable and the written form
// is canonical; accepted with alice's key means the §13.8 record.
func FuzzEpochHeader(f *testing.F) {
	fx := loadFixtures()
	f.Add(fx.record)
	f.Add([]byte(`{"version":3,"channelId":"c","epoch":1,"creatorId":"u","createdAt":0,"pubECDHE":"","commitment":"","partHashes":[],"signature":""}`))
	pub, err := fx.keys[keyAlice].Verifier()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		h, err := ParseEpochHeader(text)
		if err != nil {
			requireInvalid(t, err)
			return
		}
		written := h.HeaderJSON()
		again, err := ParseEpochHeader(written)
		if err != nil || !reflect.DeepEqual(h, again) || !bytes.Equal(written, again.HeaderJSON()) {
			t.Fatalf("parse, write, parse changed %s: %v", text, err)
		}
		if h.Verify(pub) && !sameContent(text, fx.record) {
			t.Fatalf("accepted a record that no one signed: %s", text)
		}
	})
}

func marshalWraps(wraps []Wrap) []byte {
	list := make([][]string, len(wraps))
	for i, w := range wraps {
		list[i] = []string{w.UserID, b64(w.KeyID), b64(w.Wrapped)}
	}
	return mustJSON(list)
}

// FuzzPart: one part of a record. Parse, write, parse gives the same wraps; a part that matches
// the §13.8 record's signed hash is that record's part.
func FuzzPart(f *testing.F) {
	fx := loadFixtures()
	f.Add(fx.part)
	f.Add([]byte(`[["u","AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="]]`))
	h, err := ParseEpochHeader(fx.record)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		wraps, err := ParsePart(text)
		if err != nil {
			requireInvalid(t, err)
			return
		}
		again, err := ParsePart(marshalWraps(wraps))
		if err != nil || !reflect.DeepEqual(wraps, again) {
			t.Fatalf("parse, write, parse changed %s: %v", text, err)
		}
		if h.CheckParts([][]Wrap{wraps}) == nil && !sameContent(text, fx.part) {
			t.Fatalf("a part that is not the record's matches its signed hash: %s", text)
		}
		if parts, err := h.ParseParts([][]byte{text}); err == nil && (!reflect.DeepEqual(parts[0], wraps) || !sameContent(text, fx.part)) {
			t.Fatalf("the record accepted a part that is not its own: %s", text)
		}
	})
}

func marshalJoiners(s *JoinerSet) []byte {
	wraps := json.RawMessage(marshalWraps(s.Wraps))
	return mustJSON(map[string]any{"version": 3, "channelId": s.ChannelID, "epoch": s.Epoch, "adderId": s.AdderID,
		"createdAt": s.CreatedAt, "pubECDHE": b64(s.PubECDHE), "wraps": wraps, "signature": b64(s.Signature)})
}

// FuzzJoiners: a joiner wraps set and a commitment. Parse, write, parse gives the same set;
// accepted with bob's key means the §13.8 set for that record.
func FuzzJoiners(f *testing.F) {
	fx := loadFixtures()
	f.Add(fx.joiner, fx.commit)
	pub, err := fx.keys[keyBob].Verifier()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text []byte, commitment []byte) {
		s, err := ParseJoiners(text)
		if err != nil {
			requireInvalid(t, err)
			return
		}
		again, err := ParseJoiners(marshalJoiners(s))
		if err != nil || !reflect.DeepEqual(s, again) {
			t.Fatalf("parse, write, parse changed %s: %v", text, err)
		}
		if s.Verify(pub, commitment) && (!bytes.Equal(commitment, fx.commit) || !sameContent(text, fx.joiner)) {
			t.Fatalf("accepted joiner wraps that no one signed: %s", text)
		}
	})
}

// FuzzPublicKey: a pushed or stored key. A valid key is written in the one canonical form (the
// key ID hashes bytes, the stores compare strings) and survives a JSON round trip.
func FuzzPublicKey(f *testing.F) {
	fx := loadFixtures()
	for _, k := range fx.keys {
		f.Add(k.Sign, k.Encr)
	}
	f.Add(fx.keys[0].Sign, fx.keys[0].Sign)
	f.Fuzz(func(t *testing.T, sign, encr string) {
		k := PublicKey{Sign: sign, Encr: encr}
		id, idErr := k.ID()
		if k.Validate() != nil {
			return
		}
		for _, s := range []string{sign, encr} {
			raw, err := DecodePoint(s)
			if err != nil || b64(raw) != s {
				t.Fatalf("a valid key half is not canonical base64: %q", s)
			}
		}
		if idErr != nil || len(id) != 32 {
			t.Fatalf("a valid key has no ID: %v", idErr)
		}
		if _, err := k.Verifier(); err != nil {
			t.Fatalf("a valid key has no verifier: %v", err)
		}
		var back PublicKey
		if json.Unmarshal(k.Marshal(), &back) != nil || back != k {
			t.Fatalf("JSON round trip changed the key")
		}
	})
}

// FuzzPushProof: a proof of possession for a user and nonce. Accepted means the test key's
// proof for that very user and nonce.
func FuzzPushProof(f *testing.F) {
	fx := loadFixtures()
	f.Add(fx.proofUser, fx.proofOnce, b64(fx.proof), uint8(keyTest))
	f.Add(fx.proofUser, fx.proofOnce, b64(fx.proof)+"\n", uint8(keyTest))
	f.Fuzz(func(t *testing.T, userID, nonce, proof string, key uint8) {
		sig, err := DecodeSignature(proof)
		if err != nil {
			requireInvalid(t, err)
			return
		}
		if b64(sig) != proof {
			t.Fatalf("a proof that is not canonical base64 decoded: %q", proof)
		}
		k := fx.keys[int(key)%len(fx.keys)]
		err = VerifyPushProof(&k, userID, nonce, sig)
		if err == nil && (k != fx.keys[keyTest] || userID != fx.proofUser || nonce != fx.proofOnce) {
			t.Fatalf("accepted a proof that no one signed for %q %q", userID, nonce)
		}
		if err != nil && !errors.Is(err, ErrProofMismatch) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// FuzzArmoredBackup: the armored backup check does not depend on line endings or on white
// space around the message, and accepts only text with the armor lines.
func FuzzArmoredBackup(f *testing.F) {
	f.Add(string(mustRead("../testdata/openpgp-message.asc")))
	f.Add("-----BEGIN PGP MESSAGE-----\nVersion: X\nComment: y\n\nQUFB\nQUFB\n=ab12\n-----END PGP MESSAGE-----")
	f.Add("-----BEGIN PGP MESSAGE-----\n\n-----END PGP MESSAGE-----")
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateArmoredMessage(s)
		if err == nil && (!strings.Contains(s, pgpBegin) || !strings.Contains(s, pgpEnd) || len(s) > MaxBackupBytes) {
			t.Fatalf("accepted %q", s)
		}
		if strings.Contains(s, "\r") {
			return
		}
		for _, variant := range []string{strings.ReplaceAll(s, "\n", "\r\n"), " \n" + s + "\n\t"} {
			if len(variant) <= MaxBackupBytes && (ValidateArmoredMessage(variant) == nil) != (err == nil) {
				t.Fatalf("%q and %q are judged differently", s, variant)
			}
		}
	})
}

// f1Header is §15.1's header, written from the spec: magic, version 1, chunk size, 7 bytes of
// nonce prefix, a zero reserved byte.
func f1Header(data []byte) bool {
	return len(data) >= 20 && string(data[:7]) == "MME2EEF" && data[7] == 1 &&
		bytes.Equal(data[8:12], []byte{0, 1, 0, 0}) && data[19] == 0
}

// f1Size is len(file) of an F1 file of plain bytes of plaintext (§15.1).
func f1Size(plain int64) int64 {
	n := plain / F1ChunkBytes
	if plain%F1ChunkBytes != 0 || n == 0 {
		n++
	}
	return F1HeaderBytes + plain + F1TagBytes*n
}

// FuzzF1File: the upload checks of an encrypted file agree with §15.1 written independently:
// the header, the name and type, and the sizes an F1 writer produces. The header check reads
// the header and nothing more.
func FuzzF1File(f *testing.F) {
	header := append([]byte("MME2EEF\x01\x00\x01\x00\x00"), make([]byte, 8)...)
	f.Add(header, "0123456789abcdef0123456789abcdef.bin", F1MimeType, int64(36))
	f.Add(append(header, 1, 2, 3), "0123456789abcdef0123456789abcdef.bin", F1MimeType, int64(20+65536+16+1+16))
	f.Add([]byte("MME2EEF"), "x.bin", "text/plain", int64(-1))
	f.Add([]byte{}, "", "", int64(math.MaxInt64)) // F1SizeValid overflowed here and said no
	f.Add([]byte{}, "", "", int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, data []byte, name, mime string, size int64) {
		r := bytes.NewReader(data)
		err := CheckF1Header(r)
		if (err == nil) != f1Header(data) {
			t.Fatalf("header %x: %v", data, err)
		}
		if read := len(data) - r.Len(); read != min(len(data), F1HeaderBytes) {
			t.Fatalf("read %d bytes of %d", read, len(data))
		}
		// The plaintext size a file of this size would have: B = size-20 bytes hold n segments.
		valid := false
		if body := size - F1HeaderBytes; body >= F1TagBytes {
			n := body/(F1ChunkBytes+F1TagBytes) + 1
			for _, c := range []int64{n - 1, n} {
				if c >= 1 && body-F1TagBytes*c >= 0 && f1Size(body-F1TagBytes*c) == size {
					valid = true
				}
			}
		}
		if F1SizeValid(size) != valid {
			t.Fatalf("size %d: F1SizeValid says %v, §15.1 says %v", size, !valid, valid)
		}
		nameOK := len(name) == 36 && strings.HasSuffix(name, ".bin") && strings.Trim(name[:32], "0123456789abcdef") == ""
		if (CheckF1File(name, mime, size) == nil) != (nameOK && mime == F1MimeType && valid) {
			t.Fatalf("file %q %q %d judged wrongly", name, mime, size)
		}
	})
}

// FuzzStrictDecode: what StrictDecode accepts has exactly the struct's fields, each once, and
// encodes back to an input it accepts as the same value.
func FuzzStrictDecode(f *testing.F) {
	fx := loadFixtures()
	for _, m := range fx.messages {
		f.Add(mustJSON(m.e2ee))
	}
	f.Add([]byte(`{"version":2,"IV":"x","iv":"y"}`))
	f.Add([]byte(`{"version":2,"iv":"x","iv":"y"}`))
	f.Add([]byte(`{"version":2} {}`))
	f.Fuzz(func(t *testing.T, text []byte) {
		var m messageV2
		if StrictDecode(text, &m) != nil {
			return
		}
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(text, &keys); err != nil && !bytes.Equal(bytes.TrimSpace(text), []byte("null")) {
			t.Fatalf("accepted a body that is no object: %s", text)
		}
		for k := range keys {
			if !strings.Contains(`version createdAt iv pubECDHE encryptedKey encryptedData signature`, k) || strings.Count(string(text), `"`+k+`"`) == 0 {
				t.Fatalf("accepted the field %q", k)
			}
		}
		var again messageV2
		if err := StrictDecode(mustJSON(m), &again); err != nil {
			t.Fatalf("refused its own encoding of %s: %v", text, err)
		}
		if !bytes.Equal(mustJSON(m), mustJSON(again)) {
			t.Fatalf("round trip changed %s", text)
		}
	})
}

// signedInput is a signed seed with the leaves a signature covers, in one JSON object, and
// how to verify it.
type signedInput struct {
	name   string
	doc    map[string]any // {"input": ..., and for v2/v3 "ctx", for v3 and joiners "commitment"}
	exempt func(path []any) bool
	verify func(doc map[string]any) bool
}

func signedInputs() []signedInput {
	fx := loadFixtures()
	ctxOf := func(doc map[string]any) Context {
		c, _ := doc["ctx"].(map[string]any)
		s := func(k string) string { v, _ := c[k].(string); return v }
		return Context{ChannelID: s("channelId"), RootID: s("rootId"), UserID: s("userId")}
	}
	commitOf := func(doc map[string]any) []byte {
		s, _ := doc["commitment"].(string)
		b, _ := base64.StdEncoding.DecodeString(s)
		return b
	}
	ctxDoc := func(c Context) map[string]any {
		return map[string]any{"channelId": c.ChannelID, "rootId": c.RootID, "userId": c.UserID}
	}
	var out []signedInput
	for _, m := range fx.messages {
		key := fx.keys[m.key]
		doc := map[string]any{"input": m.e2ee}
		exempt := func(path []any) bool { return false }
		if v, _ := Version(m.e2ee); v == 1 {
			// v1 signs no wrapped key (protocol-v1.md): only the recipient's unwrap notices.
			exempt = func(path []any) bool { return len(path) == 4 && path[1] == "encryptedKey" && path[3] == 1 }
		} else {
			doc["ctx"] = ctxDoc(m.ctx)
		}
		out = append(out, signedInput{name: m.name, doc: doc, exempt: exempt, verify: func(d map[string]any) bool {
			return VerifyMessage(d["input"], &key, ctxOf(d)) == nil
		}})
	}
	alice, _ := fx.keys[keyAlice].Verifier()
	bob, _ := fx.keys[keyBob].Verifier()
	header, _ := ParseEpochHeader(fx.record)
	never := func([]any) bool { return false }
	out = append(out,
		signedInput{name: "v3", doc: map[string]any{"input": decodeAny(fx.v3), "ctx": ctxDoc(fx.v3Ctx), "commitment": b64(fx.commit)}, exempt: never,
			verify: func(d map[string]any) bool {
				m, err := ParseMessageV3(mustJSON(d["input"]))
				return err == nil && m.Verify(alice, ctxOf(d), commitOf(d))
			}},
		signedInput{name: "record", doc: map[string]any{"input": decodeAny(fx.record)}, exempt: never,
			verify: func(d map[string]any) bool {
				h, err := ParseEpochHeader(mustJSON(d["input"]))
				return err == nil && h.Verify(alice)
			}},
		signedInput{name: "part", doc: map[string]any{"input": decodeAny(fx.part)}, exempt: never,
			verify: func(d map[string]any) bool {
				_, err := header.ParseParts([][]byte{mustJSON(d["input"])})
				return err == nil
			}},
		signedInput{name: "joiners", doc: map[string]any{"input": decodeAny(fx.joiner), "commitment": b64(fx.commit)}, exempt: never,
			verify: func(d map[string]any) bool {
				s, err := ParseJoiners(mustJSON(d["input"]))
				return err == nil && s.Verify(bob, commitOf(d))
			}},
	)
	return out
}

// leaves lists the paths to the strings and numbers of a decoded JSON value.
func leaves(v any, path []any, out *[][]any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			leaves(e, append(append([]any{}, path...), k), out)
		}
	case []any:
		for i, e := range x {
			leaves(e, append(append([]any{}, path...), i), out)
		}
	case string, float64:
		*out = append(*out, path)
	}
}

// mutate changes the leaf at path: one bit of the bytes a base64 string holds (re-encoded), of
// another string, or of a number.
func mutate(v any, path []any, bit uint16) any {
	if len(path) == 0 {
		switch x := v.(type) {
		case string:
			if x == "" {
				return "A"
			}
			if b, err := Base64Exact("", x, -1); err == nil && len(b) > 0 {
				b[int(bit/8)%len(b)] ^= 1 << (bit % 8)
				return b64(b)
			}
			b := []byte(x)
			b[int(bit/7)%len(b)] ^= 1 << (bit % 7)
			return string(b)
		case float64:
			return float64(uint64(x) ^ 1<<(bit%53))
		}
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		x[path[0].(string)] = mutate(x[path[0].(string)], path[1:], bit)
	case []any:
		x[path[0].(int)] = mutate(x[path[0].(int)], path[1:], bit)
	}
	return v
}

// FuzzSignedInputRefusesMutation: a signed message, record, part or joiner set with any one bit
// of any signed field (or of the context and commitment it is bound to) changed never verifies.
func FuzzSignedInputRefusesMutation(f *testing.F) {
	inputs := signedInputs()
	for i := range inputs {
		f.Add(uint8(i), uint16(0), uint16(0))
		f.Add(uint8(i), uint16(7), uint16(101))
	}
	f.Fuzz(func(t *testing.T, which uint8, leaf, bit uint16) {
		in := inputs[int(which)%len(inputs)]
		if !in.verify(in.doc) {
			t.Fatalf("%s: the seed does not verify", in.name)
		}
		var paths [][]any
		leaves(in.doc, nil, &paths)
		// map order is random: sort the paths for a reproducible choice.
		sortPaths(paths)
		path := paths[int(leaf)%len(paths)]
		if in.exempt(path) {
			return
		}
		doc := decodeAny(mustJSON(in.doc)).(map[string]any)
		doc = mutate(doc, path, bit).(map[string]any)
		if reflect.DeepEqual(doc, decodeAny(mustJSON(in.doc))) {
			t.Fatalf("%s: mutation of %v changed nothing", in.name, path)
		}
		if in.verify(doc) {
			t.Fatalf("%s: verifies with %v changed (bit %d): %s", in.name, path, bit, mustJSON(doc))
		}
	})
}

func sortPaths(paths [][]any) {
	key := func(p []any) string { return string(mustJSON(p)) }
	for i := 1; i < len(paths); i++ {
		for j := i; j > 0 && key(paths[j]) < key(paths[j-1]); j-- {
			paths[j], paths[j-1] = paths[j-1], paths[j]
		}
	}
}
