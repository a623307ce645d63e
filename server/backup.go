package main

import (
	"encoding/json"
	"fmt"
	"html"

	"github.com/mattermost/mattermost/server/public/model"
)

// pushPubkey stores a user's new public key and, when given, its GPG backup (both checked by
// decodePushRequest). Everything is checked before anything is written: the proof of
// possession, then that no other user holds the key.
func (p *Plugin) pushPubkey(userID string, req *checkedPush) (err error) {
	key, backup := req.Key, req.Backup
	if err := p.checkPushProof(userID, key, req.Proof); err != nil {
		return err
	}
	release, err := p.claimPushedKey(userID, key)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			release()
		}
	}()
	st := p.store()
	old, err := st.getPubkeyRaw(userID)
	if err != nil {
		return err
	}
	if prev := storedKey(old); prev != nil {
		// The key it replaces stays the user's (a no-op once the index is complete).
		if err := p.claimOrReport(*prev, userID, "replaced key"); err != nil {
			return err
		}
	}
	newRaw := key.Marshal()
	changed := !samePubkey(old, key)
	var histBefore, histAfter []byte
	if changed {
		if err := st.setPubkey(userID, old, key); err != nil {
			return err
		}
		// Readers verify older posts with the key that signed them: record every key.
		histBefore, histAfter, err = st.appendHistory(userID, storedKey(old), key, model.GetMillis())
		if err != nil {
			p.restorePubkey(userID, newRaw, old)
			return err
		}
	}
	var backupErr error
	switch {
	case backup != nil:
		backupErr = st.setBackup(userID, *backup)
	case changed:
		// The old backup holds the old private key: it no longer matches.
		backupErr = st.deleteBackup(userID)
	}
	if backupErr != nil {
		if changed {
			// Put the previous key and history back so that nothing changed.
			p.restorePubkey(userID, newRaw, old)
			if _, appErr := p.API.KVCompareAndSet(kvHistoryPrefix+userID, histAfter, histBefore); appErr != nil {
				p.API.LogError("E2EE: cannot restore the previous key history", "user_id", userID, "error", appErr.Error())
			}
		}
		return backupErr
	}
	if changed {
		p.API.PublishWebSocketEvent("newPubkey", map[string]any{"userID": userID}, &model.WebsocketBroadcast{})
		p.keyRegistered(userID, storedKey(old) == nil)
		if old != nil {
			// A replaced key (not a first one: joiner wraps cover that) needs new channel keys.
			p.markKeyChanged(userID)
		}
	}
	if backup != nil {
		p.mailBackup(userID, *backup)
	}
	return nil
}

func (p *Plugin) restorePubkey(userID string, newRaw, old []byte) {
	if _, appErr := p.API.KVCompareAndSet(kvPubkeyPrefix+userID, newRaw, old); appErr != nil {
		p.API.LogError("E2EE: cannot restore the previous public key", "user_id", userID, "error", appErr.Error())
	}
}

// storedKey parses a stored key; nil when absent or not a valid key.
func storedKey(raw []byte) *PublicKey {
	if raw == nil {
		return nil
	}
	var k PublicKey
	if json.Unmarshal(raw, &k) != nil || k.Validate() != nil {
		return nil
	}
	return &k
}

func samePubkey(oldRaw []byte, key *PublicKey) bool {
	if oldRaw == nil {
		return false
	}
	var old PublicKey
	if json.Unmarshal(oldRaw, &old) != nil {
		return false
	}
	return old == *key
}

// mailBackup sends the backup to the user's address. A failure is logged only: the key is
// stored and the user can still get the backup with /e2ee show_backup.
func (p *Plugin) mailBackup(userID, armored string) {
	u, appErr := p.API.GetUser(userID)
	if appErr != nil || u.Email == "" {
		p.API.LogWarn("E2EE: no email address to send the key backup to", "user_id", userID)
		return
	}
	body := fmt.Sprintf(`<p>Hello %s,</p>
<p>You created an end-to-end encryption key in Mattermost. Below is a backup of your private key,
encrypted to your GPG key. Keep this email: to restore your key in a new browser, decrypt the message
with <code>gpg --decrypt</code> and paste the result into <code>/e2ee import</code> in Mattermost.</p>
<p>Only your GPG private key can open this backup. If you did not create this key, tell your administrator.</p>
<pre>%s</pre>`, html.EscapeString(u.Username), html.EscapeString(armored))
	if appErr := p.API.SendMail(u.Email, "Your Mattermost E2EE key backup", body); appErr != nil {
		p.API.LogError("E2EE: cannot mail the key backup", "user_id", userID, "error", appErr.Error())
	}
}
