package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/mme2ee/mattermost-plugin-e2ee/server/e2eeformat"
)

// Proof of possession for POST /pubkey/push (docs/design.md §4, docs/api.md): the client signs
// a single-use nonce, bound to its user, with the pushed key's sign half. Without it, a user
// could register another user's public key and pass off that user's v1 posts as his own.
const (
	kvNoncePrefix = "pubkey_nonce:" // + userID: the user's outstanding nonce
	// kvKeyOwnerPrefix + hex(key ID): the user who first registered the key, kept forever so
	// that no other user can register it later, even after its owner replaced it.
	kvKeyOwnerPrefix = "pubkey_owner:"
	kvKeyOwnersDone  = "pubkey_owner_index:v1" // when indexKeyOwners last completed (ms)

	nonceTTLMillis = 5 * 60 * 1000
	nonceBytes     = 32
)

// storedNonce is the KV value of an outstanding nonce. expiresAt is checked here as well as
// by the KV expiry, which a compare-and-delete does not look at.
type storedNonce struct {
	Nonce     string `json:"nonce"`
	ExpiresAt int64  `json:"expiresAt"`
}

type nonceResponse struct {
	Nonce string `json:"nonce"`
}

// handleNonce issues a fresh nonce for the caller, replacing any earlier one.
func (p *Plugin) handleNonce(userID string, _ *http.Request) (any, error) {
	buf := make([]byte, nonceBytes)
	if _, err := rand.Read(buf); err != nil {
		return nil, fmt.Errorf("making a nonce: %w", err)
	}
	n := storedNonce{Nonce: base64.RawURLEncoding.EncodeToString(buf), ExpiresAt: model.GetMillis() + nonceTTLMillis}
	value, _ := json.Marshal(n)
	if _, appErr := p.API.KVSetWithOptions(kvNoncePrefix+userID, value, model.PluginKVSetOptions{ExpireInSeconds: nonceTTLMillis / 1000}); appErr != nil {
		return nil, fmt.Errorf("storing the nonce: %w", appErr)
	}
	return nonceResponse{Nonce: n.Nonce}, nil
}

// checkPushProof consumes the caller's nonce (whatever the outcome: it is single use) and
// checks that sig is key's signature over it.
func (p *Plugin) checkPushProof(userID string, key *PublicKey, sig []byte) error {
	kvKey := kvNoncePrefix + userID
	raw, appErr := p.API.KVGet(kvKey)
	if appErr != nil {
		return fmt.Errorf("reading the nonce: %w", appErr)
	}
	if raw == nil {
		return apiErr(http.StatusForbidden, "no valid nonce: get one from GET /pubkey/nonce (each is single use and valid 5 minutes)")
	}
	used, appErr := p.API.KVCompareAndDelete(kvKey, raw)
	if appErr != nil {
		return fmt.Errorf("using the nonce: %w", appErr)
	}
	if !used {
		return apiErr(http.StatusForbidden, "the nonce was already used: get a new one from GET /pubkey/nonce")
	}
	var n storedNonce
	if json.Unmarshal(raw, &n) != nil || n.Nonce == "" {
		return apiErr(http.StatusForbidden, "no valid nonce: get one from GET /pubkey/nonce")
	}
	if model.GetMillis() > n.ExpiresAt {
		return apiErr(http.StatusForbidden, "the nonce expired: get a new one from GET /pubkey/nonce")
	}
	switch err := e2eeformat.VerifyPushProof(key, userID, n.Nonce, sig); {
	case errors.Is(err, e2eeformat.ErrBadPublicKey):
		return apiErr(http.StatusBadRequest, "invalid public key")
	case err != nil:
		return apiErr(http.StatusForbidden, "proof does not verify: it must be the pushed key's sign signature over \""+e2eeformat.PushProofLabel+"\\n<your user ID>\\n<nonce>\"")
	}
	return nil
}

func keyOwnerKey(key *PublicKey) (string, error) {
	id, err := key.ID()
	if err != nil {
		return "", err
	}
	return kvKeyOwnerPrefix + hex.EncodeToString(id), nil
}

// claimKey records userID as the key's owner unless another user is recorded (compare-and-set:
// of two users racing for one key, one wins). owner is the recorded owner afterwards; fresh
// says this call recorded it.
func (s store) claimKey(key *PublicKey, userID string) (owner string, fresh bool, err error) {
	kvKey, err := keyOwnerKey(key)
	if err != nil {
		return "", false, e2eeformat.ErrBadPublicKey
	}
	ok, appErr := s.api.KVCompareAndSet(kvKey, nil, []byte(userID))
	if appErr != nil {
		return "", false, fmt.Errorf("recording the key's owner: %w", appErr)
	}
	if ok {
		return userID, true, nil
	}
	cur, appErr := s.api.KVGet(kvKey)
	if appErr != nil {
		return "", false, fmt.Errorf("reading the key's owner: %w", appErr)
	}
	if cur == nil {
		return "", false, errConflict // deleted meanwhile (by an admin): let the client retry
	}
	return string(cur), false, nil
}

// claimPushedKey refuses a key that is or was registered to another user. release undoes a
// claim this call made, for a push that fails later.
func (p *Plugin) claimPushedKey(userID string, key *PublicKey) (release func(), err error) {
	owner, fresh, err := p.store().claimKey(key, userID)
	if err != nil {
		return nil, err
	}
	if owner != userID {
		return nil, apiErr(http.StatusForbidden, "this public key is (or was) registered to another user; create a key of your own with /e2ee init")
	}
	return func() {
		if !fresh {
			return
		}
		kvKey, _ := keyOwnerKey(key)
		if _, appErr := p.API.KVCompareAndDelete(kvKey, []byte(userID)); appErr != nil {
			p.API.LogError("E2EE: cannot undo a key owner record", "user_id", userID, "error", appErr.Error())
		}
	}, nil
}

// keyClaim is one stored key to put in the owner index.
type keyClaim struct {
	key    PublicKey
	userID string
	since  int64
}

// indexKeyOwners puts every stored key (current keys and histories) into the owner index:
// earliest registration first, so of two users with the same key the first keeps it; the
// others are logged for the admin. It runs at every activation, in the background, so keys
// stored by a version without the index (before an upgrade, or during a downgrade) are covered
// too; keys already indexed cost one compare-and-set each. Safe on several servers at once.
func (p *Plugin) indexKeyOwners() error {
	st := p.store()
	users := map[string]bool{}
	for page := 0; ; page++ {
		keys, appErr := p.API.KVList(page, kvListPage)
		if appErr != nil {
			return fmt.Errorf("listing stored keys: %w", appErr)
		}
		for _, k := range keys {
			if id, ok := strings.CutPrefix(k, kvHistoryPrefix); ok {
				users[id] = true
			} else if id, ok := strings.CutPrefix(k, kvPubkeyPrefix); ok {
				users[id] = true
			}
		}
		if len(keys) < kvListPage {
			break
		}
	}
	var claims []keyClaim
	for userID := range users {
		list, err := st.getHistory(userID) // the current key alone (since 0) without a history
		if err != nil {
			return err
		}
		listed := false
		cur, _ := st.getPubkey(userID)
		for _, e := range list {
			claims = append(claims, keyClaim{key: e.Pubkey, userID: userID, since: e.Since})
			listed = listed || (cur != nil && e.Pubkey == *cur)
		}
		if cur != nil && !listed {
			claims = append(claims, keyClaim{key: *cur, userID: userID, since: 0})
		}
	}
	// Earliest registration first (0: before histories were kept); ties by user ID, so that
	// every server of a cluster decides alike.
	sort.SliceStable(claims, func(i, j int) bool {
		if claims[i].since != claims[j].since {
			return claims[i].since < claims[j].since
		}
		return claims[i].userID < claims[j].userID
	})
	for _, c := range claims {
		if err := p.claimOrReport(c.key, c.userID, "stored key"); err != nil {
			return err
		}
	}
	if appErr := p.API.KVSet(kvKeyOwnersDone, fmt.Append(nil, model.GetMillis())); appErr != nil {
		return fmt.Errorf("recording the key index: %w", appErr)
	}
	return nil
}

// claimOrReport claims key for userID and logs (without key material beyond the public key
// ID) when another user holds it. It returns only KV errors.
func (p *Plugin) claimOrReport(key PublicKey, userID, what string) error {
	owner, _, err := p.store().claimKey(&key, userID)
	if err != nil {
		return err
	}
	if owner != userID {
		id, _ := key.ID()
		p.API.LogWarn("E2EE: the same public key is registered to two users; the first keeps it, the other cannot register it again and should create a new key with /e2ee init --force",
			"what", what, "key_id", base64.StdEncoding.EncodeToString(id), "kept_by", owner, "also_used_by", userID)
	}
	return nil
}
