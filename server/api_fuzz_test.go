package main

// Fuzz targets of the HTTP API's request decoders (api_decode.go); build/fuzz.sh runs them.

import (
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/mme2ee/mattermost-plugin-e2ee/server/e2eeformat"
)

// requireBadRequest: a refusal is an *APIError with a client error status.
func requireBadRequest(t *testing.T, err error) {
	t.Helper()
	var ae *APIError
	if !errors.As(err, &ae) || (ae.Status != http.StatusBadRequest && ae.Status != http.StatusRequestEntityTooLarge) || ae.Message == "" {
		t.Fatalf("refused with %T %v, not a 400 or 413 with a message", err, err)
	}
}

func fuzzJSON(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDecodePushRequest: what the decoder accepts is a valid key, an armored backup only when
// backups are on, and a 64-byte proof, and it encodes back to a body decoded the same.
func FuzzDecodePushRequest(f *testing.F) {
	v := loadVectors(f)
	alice := v.key(f, "alice")
	armored, err := os.ReadFile("testdata/openpgp-message.asc")
	if err != nil {
		f.Fatal(err)
	}
	proof := b64(randBytes(64))
	for _, body := range []map[string]any{
		{"pubkey": alice, "proof": proof},
		{"pubkey": alice, "proof": proof, "backupGPG": string(armored)},
		{"pubkey": map[string]string{"sign": alice.Sign, "encr": alice.Sign}, "proof": proof},
		{"pubkey": alice, "proof": proof + "\n"},
		{"pubkey": alice},
	} {
		f.Add(fuzzJSON(f, body), true)
		f.Add(fuzzJSON(f, body), false)
	}
	f.Add([]byte(`{"PubKey": {"sign": "x", "encr": "y"}, "pubkey": null}`), true)
	f.Fuzz(func(t *testing.T, body []byte, backups bool) {
		req, err := decodePushRequest(body, backups)
		if err != nil {
			requireBadRequest(t, err)
			return
		}
		if req.Key.Validate() != nil || len(req.Proof) != 64 {
			t.Fatalf("accepted an invalid key or proof: %s", body)
		}
		if req.Backup != nil && (!backups || e2eeformat.ValidateArmoredMessage(*req.Backup) != nil) {
			t.Fatalf("accepted a backup it must refuse: %s", body)
		}
		proof := b64(req.Proof)
		again, err := decodePushRequest(fuzzJSON(t, pushRequest{Pubkey: req.Key, BackupGPG: req.Backup, Proof: &proof}), backups)
		if err != nil || !reflect.DeepEqual(req, again) {
			t.Fatalf("encode, decode changed %s: %v", body, err)
		}
	})
}

// FuzzDecodeUserIDsRequest: accepted lists hold at most max Mattermost IDs and survive a round trip.
func FuzzDecodeUserIDsRequest(f *testing.F) {
	f.Add([]byte(`{"userIds":["`+aliceID+`","`+bobID+`"]}`), uint16(maxUserIDsPerGet))
	f.Add([]byte(`{"userIds":[]}`), uint16(maxUserIDsPerHistory))
	f.Add([]byte(`{"userIds":["`+aliceID+`"]}`), uint16(0))
	f.Add([]byte(`{"userIds":null}`), uint16(1))
	f.Add([]byte(`{"userIDs":["x"],"userIds":["y"]}`), uint16(1))
	f.Fuzz(func(t *testing.T, body []byte, max uint16) {
		ids, err := decodeUserIDsRequest(body, int(max))
		if err != nil {
			requireBadRequest(t, err)
			return
		}
		if ids == nil || len(ids) > int(max) {
			t.Fatalf("accepted %d IDs with max %d", len(ids), max)
		}
		for _, id := range ids {
			if !model.IsValidId(id) {
				t.Fatalf("accepted the user ID %q", id)
			}
		}
		again, err := decodeUserIDsRequest(fuzzJSON(t, getRequest{UserIDs: ids}), int(max))
		if err != nil || !reflect.DeepEqual(ids, again) {
			t.Fatalf("encode, decode changed %s: %v", body, err)
		}
	})
}

// sameDecimal: s is a decimal numeral (leading zeros allowed) of n.
func sameDecimal(s string, n uint64) bool {
	v, ok := new(big.Int).SetString(s, 10)
	return ok && s[0] != '+' && s[0] != '-' && v.IsUint64() && v.Uint64() == n
}

// FuzzDecodeQueries: the query decoders of the channel routes, on any query string the server
// hands the plugin.
func FuzzDecodeQueries(f *testing.F) {
	f.Add("chanID=" + chanID + "&epoch=1&tag=0011223344556677&part=0&on=true")
	f.Add("chanID=" + chanID + "&epoch=9007199254740992&part=-1&on=1")
	f.Add("chanID=%zz&epoch=0&epoch=2&part=1e3&on=TRUE")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw) // as r.URL.Query() does: what parses is used
		if id, err := decodeChannelQuery(q); err != nil {
			requireBadRequest(t, err)
		} else if !model.IsValidId(id) || id != q.Get("chanID") {
			t.Fatalf("accepted the channel ID %q", id)
		}
		for _, optional := range []bool{false, true} {
			epoch, err := decodeEpochQuery(q, optional)
			switch {
			case err != nil:
				requireBadRequest(t, err)
			case epoch == 0 && !(optional && q.Get("epoch") == ""):
				t.Fatalf("epoch 0 from %q", raw)
			case epoch > e2eeformat.MaxSafeInteger || (epoch != 0 && !sameDecimal(q.Get("epoch"), epoch)):
				t.Fatalf("epoch %d from %q", epoch, raw)
			}
		}
		if pq, err := decodePartQuery(q); err != nil {
			requireBadRequest(t, err)
		} else {
			again, err := decodePartQuery(url.Values{"epoch": {strconv.FormatUint(pq.Epoch, 10)}, "tag": {pq.Tag}, "part": {strconv.Itoa(pq.Index)}})
			if err != nil || again != pq {
				t.Fatalf("encode, decode changed %q: %v", raw, err)
			}
		}
		if on, err := decodeSwitchQuery(q); err != nil {
			requireBadRequest(t, err)
		} else if again, _ := decodeSwitchQuery(url.Values{"on": {strconv.FormatBool(on)}}); again != on {
			t.Fatalf("on=%v from %q", on, raw)
		}
	})
}
