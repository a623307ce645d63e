//go:build integration

package integration

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keyedUser is a user with a key (made by the CLI) registered on the server.
type keyedUser struct {
	*client
	keyFile, pubFile string
}

func newKeyedUser(t *testing.T, w *world, dir, prefix string) *keyedUser {
	u := w.e.newUser(t, w.admin, prefix)
	keyFile := filepath.Join(dir, prefix+".key")
	require.NoError(t, os.WriteFile(keyFile, []byte(cli(t, "", "keygen")), 0o600))
	pubJSON := strings.SplitN(cli(t, "", "pubkey", keyFile), "\n", 2)[0]
	pubFile := filepath.Join(dir, prefix+".pub")
	require.NoError(t, os.WriteFile(pubFile, []byte(pubJSON), 0o600))
	var pub map[string]string
	require.NoError(t, json.Unmarshal([]byte(pubJSON), &pub))
	proof := strings.TrimSpace(cli(t, "", "push-proof", "--key", keyFile, "--user", u.userID, "--nonce", u.nonce()))
	r := u.plugin("POST", "/pubkey/push", map[string]any{"pubkey": pub, "proof": proof})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	return &keyedUser{client: u, keyFile: keyFile, pubFile: pubFile}
}

func (u *keyedUser) v2(t *testing.T, text, channelID, rootID string) map[string]any {
	out := cli(t, text, "encrypt", "--key", u.keyFile, "--to", u.pubFile, "--format", "v2",
		"--channel", channelID, "--root", rootID, "--user", u.userID)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &m))
	return m
}

// encryptFile runs `mm-e2ee encrypt-file` and returns the ciphertext.
func encryptFile(t *testing.T, dir string, plain []byte) []byte {
	in := filepath.Join(dir, randomName("plain-"))
	out := in + ".bin"
	require.NoError(t, os.WriteFile(in, plain, 0o600))
	cli(t, "", "encrypt-file", "--in", in, "--out", out)
	ct, err := os.ReadFile(out)
	require.NoError(t, err)
	return ct
}

func f1Name() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b) + ".bin"
}

type fileInfo struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	MimeType        string `json:"mime_type"`
	HasPreviewImage bool   `json:"has_preview_image"`
	Width           int    `json:"width"`
	Height          int    `json:"height"`
}

func (c *client) uploadOK(t *testing.T, channelID, name string, content []byte) fileInfo {
	r := c.upload(channelID, name, content)
	require.Equal(t, http.StatusCreated, r.status, "upload %s: %s", name, r.body)
	var resp struct {
		FileInfos []fileInfo `json:"file_infos"`
	}
	r.json(t, &resp)
	require.Len(t, resp.FileInfos, 1)
	return resp.FileInfos[0]
}

// A tiny valid PNG (1x1), so the server would make a thumbnail if it saw one.
var tinyPNG, _ = hex.DecodeString("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a3f8e2a40000000049454e44ae426082")

func TestEncryptedFiles(t *testing.T) {
	w := setup(t)
	dir := t.TempDir()
	alice := newKeyedUser(t, w, dir, "itfa")
	bob := newKeyedUser(t, w, dir, "itfb")
	var ch, other struct {
		ID string `json:"id"`
	}
	alice.mustJSON("POST", "/api/v4/channels", map[string]string{
		"team_id": w.e.teamID, "name": randomName("it-files-"), "display_name": "Integration files", "type": "P",
	}, http.StatusCreated, &ch)
	alice.mustJSON("POST", "/api/v4/channels/"+ch.ID+"/members", map[string]string{"user_id": bob.userID}, http.StatusCreated, nil)
	alice.mustJSON("POST", "/api/v4/channels", map[string]string{
		"team_id": w.e.teamID, "name": randomName("it-files2-"), "display_name": "Integration files 2", "type": "P",
	}, http.StatusCreated, &other)
	// Before encryption anything could be uploaded: such files must not join encrypted posts later.
	earlyPlain := alice.uploadOK(t, ch.ID, "photo.png", tinyPNG)
	earlyBin := alice.uploadOK(t, ch.ID, f1Name(), encryptFile(t, dir, []byte("uploaded before encryption")))
	for _, id := range []string{ch.ID, other.ID} {
		r := alice.plugin("POST", "/channel/encryption_method?chanID="+id+"&method=p2p", nil)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	}
	var r response

	secret := bytes.Repeat([]byte("TOP SECRET PLAINTEXT "), 5000)

	// Plaintext uploads through REST stay refused, whatever the name.
	for name, content := range map[string][]byte{"secret.txt": secret, "photo.png": tinyPNG, f1Name(): secret, "x.bin": encryptFile(t, dir, secret)} {
		r := alice.upload(ch.ID, name, content)
		assert.Equal(t, http.StatusBadRequest, r.status, "upload %s: %s", name, r.body)
		assert.Contains(t, string(r.body), "end-to-end encrypted", name)
	}
	// An F1 ciphertext of a PNG under an image name: refused too (the server would make previews).
	r = alice.upload(ch.ID, strings.TrimSuffix(f1Name(), ".bin")+".png", encryptFile(t, dir, tinyPNG))
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)

	// The encrypted format is accepted; the server makes no preview or thumbnail of it.
	ct := encryptFile(t, dir, secret)
	fi := alice.uploadOK(t, ch.ID, f1Name(), ct)
	assert.Equal(t, "application/octet-stream", fi.MimeType)
	assert.False(t, fi.HasPreviewImage)
	imgCT := encryptFile(t, dir, tinyPNG)
	img := alice.uploadOK(t, ch.ID, f1Name(), imgCT)
	assert.False(t, img.HasPreviewImage)
	assert.Zero(t, img.Width)
	for _, kind := range []string{"thumbnail", "preview"} {
		r := alice.raw("GET", "/api/v4/files/"+img.ID+"/"+kind, nil, "")
		assert.NotEqual(t, http.StatusOK, r.status, "%s of an encrypted file: %s", kind, r.body)
	}
	// The file store holds the ciphertext only, and nothing derived from it (no _thumb, _preview).
	if dataDir := os.Getenv("MM_DATA_DIR"); dataDir != "" {
		for _, id := range []string{fi.ID, img.ID} {
			matches, err := filepath.Glob(filepath.Join(dataDir, "*", "teams", "*", "channels", ch.ID, "users", alice.userID, id, "*"))
			require.NoError(t, err)
			require.Len(t, matches, 1, "files stored for %s: %v", id, matches)
			assert.True(t, strings.HasSuffix(matches[0], ".bin"))
			stored, err := os.ReadFile(matches[0])
			require.NoError(t, err)
			assert.False(t, bytes.Contains(stored, []byte("TOP SECRET")))
			assert.False(t, bytes.Contains(stored, tinyPNG[:16]))
		}
	}
	// What the server stores and serves is the ciphertext, byte for byte.
	r = bob.raw("GET", "/api/v4/files/"+fi.ID, nil, "")
	require.Equal(t, http.StatusOK, r.status)
	assert.True(t, bytes.Equal(ct, r.body))
	assert.False(t, bytes.Contains(r.body, []byte("TOP SECRET")))

	// A post carrying the encrypted files is accepted.
	mk := func(u *keyedUser, files ...string) post {
		return post{ChannelID: ch.ID, Type: "custom_e2ee", Message: placeholder, Props: map[string]any{"e2ee": u.v2(t, "with files", ch.ID, "")}, FileIDs: files}
	}
	r = alice.createPost(mk(alice, fi.ID))
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	var withFile post
	r.json(t, &withFile)
	assert.Equal(t, []string{fi.ID}, withFile.FileIDs)

	// Another author's file, another channel's file, a file already on a post, a plaintext file
	// from before encryption: refused with a reason.
	bobs := bob.uploadOK(t, ch.ID, f1Name(), encryptFile(t, dir, []byte("bob's file")))
	elsewhere := alice.uploadOK(t, other.ID, f1Name(), encryptFile(t, dir, []byte("other channel")))
	for name, c := range map[string]struct {
		files  []string
		reason string
	}{
		"another author's file":   {[]string{bobs.ID}, "uploaded by someone else"},
		"another channel's file":  {[]string{elsewhere.ID}, "another channel"},
		"a file on another post":  {[]string{fi.ID}, "another post"},
		"a plaintext file":        {[]string{earlyPlain.ID}, "not encrypted"},
		"a .bin file not checked": {[]string{earlyBin.ID}, "not uploaded encrypted into this channel"},
	} {
		r := alice.createPost(mk(alice, c.files...))
		assert.Equal(t, http.StatusBadRequest, r.status, "%s: %s", name, r.body)
		assert.Contains(t, string(r.body), c.reason, name)
	}
	// Bob may post his own file.
	r = bob.createPost(mk(bob, bobs.ID))
	assert.Equal(t, http.StatusCreated, r.status, "%s", r.body)

	// Edits: adding one's own new encrypted file passes; adding a plaintext file does not.
	more := alice.uploadOK(t, ch.ID, f1Name(), encryptFile(t, dir, []byte("added later")))
	r = alice.do("PUT", "/api/v4/posts/"+withFile.ID+"/patch", map[string]any{
		"props": map[string]any{"e2ee": alice.v2(t, "edited", ch.ID, "")}, "file_ids": []string{fi.ID, more.ID}})
	assert.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r = alice.do("PUT", "/api/v4/posts/"+withFile.ID+"/patch", map[string]any{
		"props": map[string]any{"e2ee": alice.v2(t, "edited again", ch.ID, "")}, "file_ids": []string{fi.ID, more.ID, earlyPlain.ID}})
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	// Nor an encrypted file of another author or of another channel: Mattermost itself attaches
	// only the editor's own files of this channel and drops the others from the edit.
	bobsNew := bob.uploadOK(t, ch.ID, f1Name(), encryptFile(t, dir, []byte("bob's second file")))
	for name, id := range map[string]string{"another author's file": bobsNew.ID, "another channel's file": elsewhere.ID} {
		assertEditDoesNotAttach(t, alice.client, withFile.ID, alice.v2(t, "edited: "+name, ch.ID, ""), []string{fi.ID, more.ID}, id, name)
	}
	var stored post
	alice.mustJSON("GET", "/api/v4/posts/"+withFile.ID, nil, http.StatusOK, &stored)
	assert.NotContains(t, stored.FileIDs, earlyPlain.ID)
	assert.NotContains(t, stored.FileIDs, bobsNew.ID)
	assert.NotContains(t, stored.FileIDs, elsewhere.ID)
	assert.Contains(t, stored.FileIDs, more.ID)
	r = alice.do("PUT", "/api/v4/posts/"+withFile.ID+"/patch", map[string]any{
		"props": map[string]any{"e2ee": alice.v2(t, "one file removed", ch.ID, "")}, "file_ids": []string{more.ID}})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	alice.mustJSON("GET", "/api/v4/posts/"+withFile.ID, nil, http.StatusOK, &stored)
	assert.Equal(t, []string{more.ID}, stored.FileIDs)
}

// assertEditDoesNotAttach: an edit adding file `id` to the post either is refused or is saved
// without it (Mattermost drops files the editor may not attach); the post's file_ids never carry
// it. (Mattermost links the editor's own files to the post before the plugin's hook runs, even
// when the hook then refuses the edit: design §15.6.)
func assertEditDoesNotAttach(t *testing.T, c *client, postID string, e2ee map[string]any, keep []string, id, name string) {
	t.Helper()
	r := c.do("PUT", "/api/v4/posts/"+postID+"/patch", map[string]any{"message": placeholder, "props": map[string]any{"e2ee": e2ee}, "file_ids": append(append([]string{}, keep...), id)})
	require.Contains(t, []int{http.StatusOK, http.StatusBadRequest}, r.status, "%s: %s", name, r.body)
	var stored post
	c.mustJSON("GET", "/api/v4/posts/"+postID, nil, http.StatusOK, &stored)
	assert.NotContains(t, stored.FileIDs, id, name)
}

// Channel-key (v3) channels follow the same file rules: encrypted uploads only, and a v3 post
// carries only its author's encrypted files of this channel, also in an edit.
func TestChannelKeyFiles(t *testing.T) {
	w := setup(t)
	dir := t.TempDir()
	alice, bob := newCKUser(t, w, dir, "ckfalice"), newCKUser(t, w, dir, "ckfbob")
	var ch struct {
		ID string `json:"id"`
	}
	alice.mustJSON("POST", "/api/v4/channels", map[string]string{
		"team_id": alice.e.teamID, "name": randomName("it-ckf-"), "display_name": "Integration channel-key files", "type": "P",
	}, http.StatusCreated, &ch)
	alice.mustJSON("POST", "/api/v4/channels/"+ch.ID+"/members", map[string]string{"user_id": bob.userID}, http.StatusCreated, nil)
	earlyPlain := alice.client.uploadOK(t, ch.ID, "photo.png", tinyPNG) // before encryption
	r := alice.plugin("POST", "/channel/encryption_method?chanID="+ch.ID+"&method=channel", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	other := newChannelKeyChannel(t, alice.client, bob.client)
	recFile, rec := newRecord(t, alice, ch.ID, 1, map[string]string{alice.userID: alice.pubFile, bob.userID: bob.pubFile})
	r = commit(t, alice.client, rec)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)

	for name, content := range map[string][]byte{"photo.png": tinyPNG, "report.pdf": []byte("%PDF-1.4 plaintext"), f1Name(): []byte("not F1")} {
		r := alice.upload(ch.ID, name, content)
		assert.Equal(t, http.StatusBadRequest, r.status, "upload %s: %s", name, r.body)
	}
	imgCT := encryptFile(t, dir, tinyPNG)
	pdfCT := encryptFile(t, dir, append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("channel key pdf "), 9000)...))
	img := alice.client.uploadOK(t, ch.ID, f1Name(), imgCT)
	pdf := alice.client.uploadOK(t, ch.ID, f1Name(), pdfCT)
	assert.False(t, img.HasPreviewImage)
	withFiles := v3post(ch.ID, encryptV3(t, alice, recFile, ch.ID, "image and pdf", alice))
	withFiles.FileIDs = []string{img.ID, pdf.ID}
	r = alice.createPost(withFiles)
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	var stored post
	r.json(t, &stored)
	assert.ElementsMatch(t, []string{img.ID, pdf.ID}, stored.FileIDs)
	// bob, a member, gets the exact ciphertexts back, and reads the post.
	for id, ct := range map[string][]byte{img.ID: imgCT, pdf.ID: pdfCT} {
		got := bob.raw("GET", "/api/v4/files/"+id, nil, "")
		require.Equal(t, http.StatusOK, got.status)
		assert.True(t, bytes.Equal(ct, got.body))
	}
	text, code := decryptV3(t, bob, alice, alice, recFile, ch.ID, stored.Props["e2ee"])
	assert.Equal(t, 0, code)
	assert.Equal(t, "image and pdf", text)

	bobs := bob.client.uploadOK(t, ch.ID, f1Name(), encryptFile(t, dir, []byte("bob's")))
	elsewhere := alice.client.uploadOK(t, other, f1Name(), encryptFile(t, dir, []byte("other channel")))
	for _, c := range []struct {
		name, id, reason string
	}{
		{"a plaintext file", earlyPlain.ID, "not encrypted"},
		{"another author's file", bobs.ID, "uploaded by someone else"},
		{"another channel's file", elsewhere.ID, "another channel"},
	} {
		p := v3post(ch.ID, encryptV3(t, alice, recFile, ch.ID, "new post: "+c.name, alice))
		p.FileIDs = []string{c.id}
		r := alice.createPost(p)
		assert.Equal(t, http.StatusBadRequest, r.status, "post with %s: %s", c.name, r.body)
		assert.Contains(t, string(r.body), c.reason, c.name)
	}
	// Edits: a plaintext file is refused by the plugin, the others never get attached.
	r = alice.do("PUT", "/api/v4/posts/"+stored.ID+"/patch", map[string]any{"message": placeholder,
		"props": map[string]any{"e2ee": encryptV3(t, alice, recFile, ch.ID, "edit: plaintext file", alice)}, "file_ids": []string{img.ID, pdf.ID, earlyPlain.ID}})
	assert.Equal(t, http.StatusBadRequest, r.status, "edit adding a plaintext file: %s", r.body)
	assert.Contains(t, string(r.body), "not encrypted")
	for name, id := range map[string]string{"another author's file": bobs.ID, "another channel's file": elsewhere.ID} {
		assertEditDoesNotAttach(t, alice.client, stored.ID, encryptV3(t, alice, recFile, ch.ID, "edit: "+name, alice), []string{img.ID, pdf.ID}, id, name)
	}
	alice.mustJSON("GET", "/api/v4/posts/"+stored.ID, nil, http.StatusOK, &stored)
	assert.ElementsMatch(t, []string{img.ID, pdf.ID}, stored.FileIDs, "refused edits changed nothing")
	// An edit may add one's own new encrypted file and drop another.
	more := alice.client.uploadOK(t, ch.ID, f1Name(), encryptFile(t, dir, []byte("added in an edit")))
	r = alice.do("PUT", "/api/v4/posts/"+stored.ID+"/patch", map[string]any{"message": placeholder,
		"props": map[string]any{"e2ee": encryptV3(t, alice, recFile, ch.ID, "edited", alice)}, "file_ids": []string{img.ID, more.ID}})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	alice.mustJSON("GET", "/api/v4/posts/"+stored.ID, nil, http.StatusOK, &stored)
	assert.ElementsMatch(t, []string{img.ID, more.ID}, stored.FileIDs)
}
