package e2eeformat

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"sync"
)

// Seeds and known-good inputs for the tests and fuzz targets of this package: the original
// plugin's vectors, the CLI's messages, the worked example of docs/design.md §13.8, and inputs
// signed with a fixed test key.

// known is a signed input that verifies: the fuzz properties hold every accepted input to one.
type known struct {
	name string
	key  int // index into keys
	ctx  Context
	e2ee any // props.e2ee as encoding/json decodes it
}

type fixtures struct {
	keys      []PublicKey // alice, bob, carol, dave (vectors), CLI sender, CLI other, test key
	messages  []known     // v1 and v2 that verify
	bad       []known     // vectors that must not verify
	v3        []byte      // design example: v3 props.e2ee
	v3Ctx     Context
	record    []byte // its record in header form (part hashes computed from the parts)
	part      []byte // the record's single part
	joiner    []byte // its joiner set (signed by bob)
	commit    []byte // the record's commitment C
	proofUser string
	proofOnce string
	proof     []byte // a push proof signed with the test key
}

const (
	keyAlice = 0
	keyBob   = 1
	keyTest  = 6
)

var (
	fixturesOnce sync.Once
	fix          *fixtures
	testPriv     *ecdsa.PrivateKey
)

func mustRead(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return b
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func decodeAny(b []byte) any {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		panic(err)
	}
	return v
}

// testKey is a fixed P-256 key (scalar SHA-256 of a label), so that inputs it signed can be
// kept in testdata/fuzz and still verify.
func testKey() *ecdsa.PrivateKey {
	if testPriv == nil {
		d := sha256.Sum256([]byte("mm-e2ee e2eeformat fuzz key"))
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d[:])
		if err != nil {
			panic(err)
		}
		testPriv = k
	}
	return testPriv
}

// rawSign signs as WebCrypto does: ECDSA P-256 SHA-256, r || s.
func rawSign(k *ecdsa.PrivateKey, data []byte) []byte {
	d := sha256.Sum256(data)
	r, s, err := ecdsa.Sign(rand.Reader, k, d[:])
	if err != nil {
		panic(err)
	}
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out
}

func loadFixtures() *fixtures {
	fixturesOnce.Do(func() {
		f := &fixtures{}
		var vec struct {
			Users []struct {
				Name   string    `json:"name"`
				Pubkey PublicKey `json:"pubkey"`
			} `json:"users"`
			Messages []struct {
				Sender string          `json:"sender"`
				E2EE   json.RawMessage `json:"e2ee"`
				Why    string          `json:"why"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(mustRead("../../testdata/p2p-v1.json"), &vec); err != nil {
			panic(err)
		}
		index := map[string]int{}
		for i, u := range vec.Users {
			f.keys = append(f.keys, u.Pubkey)
			index[u.Name] = i
		}
		for i, m := range vec.Messages {
			k := known{name: "vector " + m.Why, key: index[m.Sender], e2ee: decodeAny(m.E2EE)}
			switch m.Why {
			case "ciphertext bit flipped", "signature bit flipped", "iv bit flipped", "verified with another user key":
				f.bad = append(f.bad, k)
			default:
				k.name = "vector " + string(rune('0'+i%10))
				f.messages = append(f.messages, k)
			}
		}
		var cli struct {
			Sender   PublicKey `json:"sender"`
			Other    PublicKey `json:"other"`
			Messages []struct {
				Context *struct {
					ChannelID string `json:"channelId"`
					RootID    string `json:"rootId"`
					UserID    string `json:"userId"`
				} `json:"context"`
				E2EE json.RawMessage `json:"e2ee"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(mustRead("../testdata/cli-messages.json"), &cli); err != nil {
			panic(err)
		}
		f.keys = append(f.keys, cli.Sender, cli.Other)
		for _, m := range cli.Messages {
			k := known{name: "cli", key: len(f.keys) - 2, e2ee: decodeAny(m.E2EE)}
			if m.Context != nil {
				k.ctx = Context{ChannelID: m.Context.ChannelID, RootID: m.Context.RootID, UserID: m.Context.UserID}
			}
			f.messages = append(f.messages, k)
		}
		raw, err := testKey().PublicKey.Bytes()
		if err != nil {
			panic(err)
		}
		f.keys = append(f.keys, PublicKey{Sign: b64(raw), Encr: f.keys[keyBob].Encr})

		doc := string(mustRead("../../docs/design.md"))
		sec := doc[strings.Index(doc, "### 13.8"):]
		grab := func(title string) []byte {
			m := regexp.MustCompile(regexp.QuoteMeta(title) + ":\n```json\n(.*)\n```").FindStringSubmatch(sec)
			if m == nil {
				panic("design.md §13.8 has no " + title)
			}
			return []byte(m[1])
		}
		var full struct {
			epochHeaderWire
			Parts [][][]string `json:"parts"`
		}
		if err := json.Unmarshal(grab("Epoch record"), &full); err != nil {
			panic(err)
		}
		for i, p := range full.Parts {
			w, err := ParsePart(mustJSON(p))
			if err != nil {
				panic(err)
			}
			full.PartHashes = append(full.PartHashes, b64(PartHash(i, w)))
		}
		f.part = mustJSON(full.Parts[0])
		f.record = mustJSON(full.epochHeaderWire)
		f.commit, _ = base64.StdEncoding.DecodeString(*full.Commitment)
		f.joiner = grab("Joiner wraps")
		f.v3 = grab("v3 `props.e2ee`")
		f.v3Ctx = Context{ChannelID: *full.ChannelID, UserID: *full.CreatorID}

		f.proofUser, f.proofOnce = "w1o3a8qgf7y5bx9nkd8e4mujhr", "bm9uY2Vub25jZW5vbmNlbm9uY2Vub25jZW5vbmNl"
		f.proof = rawSign(testKey(), PushProofMessage(f.proofUser, f.proofOnce))
		fix = f
	})
	return fix
}

// sameMessage: e2ee is m (as encoding/json decodes both) under the same context, up to what
// the format does not sign (v1 binds no context and signs no wrapped key) and up to the
// signature's own bytes (ECDSA signatures are malleable: (r, s) and (r, n-s) both verify).
func sameMessage(m known, e2ee any, ctx Context) bool {
	a, b := withoutSignature(unsignedV1Removed(m.e2ee)), withoutSignature(unsignedV1Removed(e2ee))
	if v, _ := Version(m.e2ee); v != 1 && ctx != m.ctx {
		return false
	}
	return reflect.DeepEqual(a, b)
}

func unsignedV1Removed(e2ee any) any {
	obj, ok := e2ee.(map[string]any)
	if v, _ := Version(e2ee); !ok || v != 1 {
		return e2ee
	}
	out := map[string]any{}
	for k, v := range obj {
		out[k] = v
	}
	if list, ok := obj["encryptedKey"].([]any); ok {
		ids := make([]any, len(list))
		for i, e := range list {
			if pair, ok := e.([]any); ok && len(pair) == 2 {
				ids[i] = pair[0]
			} else {
				ids[i] = e
			}
		}
		out["encryptedKey"] = ids
	}
	return out
}
