package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mme2ee/mattermost-plugin-e2ee/server/e2eeformat"
)

// f1Bytes: a structurally valid F1 file of plainSize bytes (random chunk contents: the server
// cannot check tags, only header and size).
func f1Bytes(plainSize int) []byte {
	n := (plainSize + e2eeformat.F1ChunkBytes - 1) / e2eeformat.F1ChunkBytes
	if n == 0 {
		n = 1
	}
	b := make([]byte, e2eeformat.F1HeaderBytes+plainSize+n*e2eeformat.F1TagBytes)
	_, _ = rand.Read(b)
	copy(b, []byte{'M', 'M', 'E', '2', 'E', 'E', 'F', 1, 0, 1, 0, 0})
	b[19] = 0
	return b
}

func f1Name() string {
	r := make([]byte, 16)
	_, _ = rand.Read(r)
	return hex.EncodeToString(r) + ".bin"
}

func f1Info(channelID, userID string, size int) *model.FileInfo {
	return &model.FileInfo{Id: model.NewId(), ChannelId: channelID, CreatorId: userID, Name: f1Name(), Extension: "bin",
		MimeType: e2eeformat.F1MimeType, Size: int64(len(f1Bytes(size)))}
}

// countingReader records how much of the upload the hook read.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += n
	return n, err
}

func TestF1SizeValid(t *testing.T) {
	for _, plain := range []int{0, 1, 65535, 65536, 65537, 3*65536 + 9} {
		assert.True(t, e2eeformat.F1SizeValid(int64(len(f1Bytes(plain)))), plain)
	}
	for _, size := range []int64{0, 19, 20, 35, 20 + 65552 + 16, 20 + 65552 + 15} {
		assert.False(t, e2eeformat.F1SizeValid(size), size)
	}
}

func TestFileWillBeUploadedAcceptsOnlyF1(t *testing.T) {
	p, api, _ := encryptedSetup(t)
	data := f1Bytes(200000)
	info := f1Info(chanID, aliceID, 200000)
	r := &countingReader{r: bytes.NewReader(data)}
	var out bytes.Buffer
	got, reason := p.FileWillBeUploaded(nil, info, r, &out)
	assert.Empty(t, reason)
	assert.Nil(t, got)
	assert.Zero(t, out.Len(), "the content is never replaced")
	assert.LessOrEqual(t, r.n, 4096, "reads the header, not the file")
	assert.Equal(t, []byte(chanID), api.kv[kvF1UploadPrefix+info.Id])

	refused := map[string]func() (*model.FileInfo, []byte){
		"plaintext png": func() (*model.FileInfo, []byte) {
			i := f1Info(chanID, aliceID, 10)
			i.Name, i.Extension, i.MimeType = "photo.png", "png", "image/png"
			return i, []byte("\x89PNG\r\n\x1a\n plaintext")
		},
		"F1 bytes under an image name": func() (*model.FileInfo, []byte) {
			i := f1Info(chanID, aliceID, 10)
			i.Name = "0123456789abcdef0123456789abcdef.png"
			return i, f1Bytes(10)
		},
		"right name, wrong type": func() (*model.FileInfo, []byte) {
			i := f1Info(chanID, aliceID, 10)
			i.MimeType = "text/plain"
			return i, f1Bytes(10)
		},
		"right name, plaintext content": func() (*model.FileInfo, []byte) {
			i := f1Info(chanID, aliceID, 10)
			return i, bytes.Repeat([]byte("plaintext "), 5)[:i.Size]
		},
		"other version": func() (*model.FileInfo, []byte) {
			i := f1Info(chanID, aliceID, 10)
			b := f1Bytes(10)
			b[7] = 2
			return i, b
		},
		"other chunk size": func() (*model.FileInfo, []byte) {
			i := f1Info(chanID, aliceID, 10)
			b := f1Bytes(10)
			b[10] = 2
			return i, b
		},
		"size not of F1": func() (*model.FileInfo, []byte) {
			i := f1Info(chanID, aliceID, 65536)
			i.Size += 5
			return i, f1Bytes(65536)
		},
		"no file ID": func() (*model.FileInfo, []byte) {
			i := f1Info(chanID, aliceID, 10)
			i.Id = ""
			return i, f1Bytes(10)
		},
	}
	for name, mk := range refused {
		i, b := mk()
		_, reason := p.FileWillBeUploaded(nil, i, bytes.NewReader(b), &out)
		assert.Contains(t, reason, "end-to-end encrypted", name)
		assert.Contains(t, reason, "encrypted by the E2EE plugin", name)
		assert.Nil(t, api.kv[kvF1UploadPrefix+i.Id], name)
	}

	// Unencrypted channels: anything goes, nothing recorded.
	plain := &model.FileInfo{Id: model.NewId(), ChannelId: otherID, Name: "a.png", MimeType: "image/png", Size: 3}
	_, reason = p.FileWillBeUploaded(nil, plain, bytes.NewReader([]byte("png")), &out)
	assert.Empty(t, reason)
	assert.Nil(t, api.kv[kvF1UploadPrefix+plain.Id])
}

// uploadF1 runs the upload hook and registers the file as the server would.
func uploadF1(t *testing.T, p *Plugin, api *fakeAPI, channelID, userID string) *model.FileInfo {
	t.Helper()
	info := f1Info(channelID, userID, 1000)
	if channelID == chanID {
		var out bytes.Buffer
		_, reason := p.FileWillBeUploaded(nil, info, bytes.NewReader(f1Bytes(1000)), &out)
		require.Empty(t, reason)
	}
	api.files[info.Id] = info
	return info
}

func TestEncryptedPostFiles(t *testing.T) {
	p, api, alice := encryptedSetup(t)
	ctx := messageContext{ChannelID: chanID, UserID: aliceID}
	withFiles := func(ids ...string) *model.Post {
		post := encryptedPost(alice.v2Message(t, ctx, 2))
		post.FileIds = ids
		return post
	}
	mine := uploadF1(t, p, api, chanID, aliceID)
	thumb := uploadF1(t, p, api, chanID, aliceID)
	out, reason := p.MessageWillBePosted(nil, withFiles(mine.Id, thumb.Id))
	assert.Empty(t, reason)
	assert.Nil(t, out)

	bobs := uploadF1(t, p, api, chanID, bobID)
	elsewhere := uploadF1(t, p, api, otherID, aliceID)
	// Uploaded as .bin while the channel was not encrypted: the hook never checked its header.
	unchecked := f1Info(chanID, aliceID, 1000)
	api.files[unchecked.Id] = unchecked
	plainPNG := &model.FileInfo{Id: model.NewId(), ChannelId: chanID, CreatorId: aliceID, Name: "photo.png", MimeType: "image/png", Size: 5000}
	api.files[plainPNG.Id] = plainPNG
	onOtherPost := uploadF1(t, p, api, chanID, aliceID)
	api.files[onOtherPost.Id].PostId = model.NewId()
	deleted := uploadF1(t, p, api, chanID, aliceID)
	api.files[deleted.Id].DeleteAt = 1

	cases := map[string][]string{
		"another author's file":        {bobs.Id},
		"a file of another channel":    {elsewhere.Id},
		"a file not checked at upload": {unchecked.Id},
		"a plaintext file":             {plainPNG.Id},
		"a file of another post":       {onOtherPost.Id},
		"a deleted file":               {deleted.Id},
		"a missing file":               {model.NewId()},
		"the same file twice":          {mine.Id, mine.Id},
		"a good file and a bad one":    {mine.Id, plainPNG.Id},
		"eleven files":                 {mine.Id, thumb.Id, "a", "b", "c", "d", "e", "f", "g", "h", "i"},
	}
	for name, ids := range cases {
		_, reason := p.MessageWillBePosted(nil, withFiles(ids...))
		assert.Contains(t, reason, "Your message was refused", name)
	}
	_, reason = p.MessageWillBePosted(nil, withFiles(bobs.Id))
	assert.Contains(t, reason, "uploaded by someone else")
	_, reason = p.MessageWillBePosted(nil, withFiles(elsewhere.Id))
	assert.Contains(t, reason, "another channel")

	// Edits: keeping its own files passes; adding a plaintext file or another author's file does not.
	old := withFiles(mine.Id)
	old.Id = model.NewId()
	api.files[mine.Id].PostId = old.Id
	edited := withFiles(mine.Id, thumb.Id)
	edited.Id, edited.EditAt = old.Id, 0
	got, reason := p.MessageWillBeUpdated(nil, edited, old)
	assert.Empty(t, reason)
	assert.Same(t, edited, got)
	for name, id := range map[string]string{"plaintext": plainPNG.Id, "other author": bobs.Id} {
		bad := withFiles(mine.Id, id)
		bad.Id = old.Id
		got, reason := p.MessageWillBeUpdated(nil, bad, old)
		assert.Nil(t, got, name)
		assert.Contains(t, reason, "Your message was refused", name)
	}
}

// The sweep judges an encrypted post's files as the hooks do: its own encrypted files pass, a
// plaintext file is removed, and a transient file-info error removes nothing.
func TestSweepChecksEncryptedPostFiles(t *testing.T) {
	p, api, alice := encryptedSetup(t)
	ctx := messageContext{ChannelID: chanID, UserID: aliceID}
	history, err := json.Marshal([]KeyHistoryEntry{{Pubkey: alice.pub, Since: 0}})
	require.NoError(t, err)
	api.kv[kvHistoryPrefix+aliceID] = history
	post := encryptedPost(alice.v2Message(t, ctx, 2))
	post.Id = model.NewId()
	f := uploadF1(t, p, api, chanID, aliceID)
	api.files[f.Id].PostId = post.Id
	post.FileIds = model.StringArray{f.Id}
	assert.NoError(t, p.sweepEncrypted(post, true))

	plain := &model.FileInfo{Id: model.NewId(), ChannelId: chanID, CreatorId: aliceID, PostId: post.Id, Name: "a.png", MimeType: "image/png", Size: 10}
	api.files[plain.Id] = plain
	post.FileIds = model.StringArray{f.Id, plain.Id}
	var rejected *PostRejectedError
	assert.ErrorAs(t, p.sweepEncrypted(post, true), &rejected)
}
