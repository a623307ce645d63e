package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"regexp"

	"github.com/mattermost/mattermost/server/public/model"
)

// Encrypted files, format F1 (docs/design.md §15): what the server can check without a key.
const (
	f1HeaderBytes  = 20
	f1ChunkBytes   = 65536
	f1TagBytes     = 16
	f1SegmentBytes = f1ChunkBytes + f1TagBytes
	f1MimeType     = "application/octet-stream"
	// kvF1UploadPrefix marks a file whose F1 header this plugin checked at upload, in an encrypted
	// channel: kvF1UploadPrefix + fileID = channel ID.
	kvF1UploadPrefix = "f1up:"
	maxPostFiles     = 10
)

var (
	f1Magic    = []byte("MME2EEF")
	f1NameRE   = regexp.MustCompile(`^[0-9a-f]{32}\.bin$`)
	filesIntro = "files in an encrypted channel must be encrypted by the E2EE plugin in the web app"
)

// f1SizeValid: a length an F1 writer produces (header, then full chunks, then a last chunk of
// 1..65536 bytes, or 0 bytes for an empty file), each chunk followed by its tag.
func f1SizeValid(size int64) bool {
	body := size - f1HeaderBytes
	if body < f1TagBytes {
		return false
	}
	n := (body + f1SegmentBytes - 1) / f1SegmentBytes
	last := body - (n-1)*f1SegmentBytes
	return n == 1 || last > f1TagBytes
}

// checkF1Header reads exactly the 20-byte header and checks it.
func checkF1Header(r io.Reader) error {
	h := make([]byte, f1HeaderBytes)
	if _, err := io.ReadFull(r, h); err != nil {
		return fmt.Errorf("%s (shorter than the encrypted file header)", filesIntro)
	}
	if !bytes.Equal(h[:7], f1Magic) || h[7] != 1 || binary.BigEndian.Uint32(h[8:12]) != f1ChunkBytes || h[19] != 0 {
		return fmt.Errorf("%s (no encrypted file header)", filesIntro)
	}
	return nil
}

// checkF1Info: name, type and size of an encrypted file as the web app uploads it.
func checkF1Info(info *model.FileInfo) error {
	if !f1NameRE.MatchString(info.Name) {
		return fmt.Errorf("%s (the name must be 32 random hex digits and .bin)", filesIntro)
	}
	if info.MimeType != f1MimeType {
		return fmt.Errorf("%s (the type must be %s)", filesIntro, f1MimeType)
	}
	if !f1SizeValid(info.Size) {
		return fmt.Errorf("%s (its size is not one of an encrypted file)", filesIntro)
	}
	return nil
}

// checkF1Upload accepts an upload into an encrypted channel only in the F1 format; it reads the
// header only, and remembers the file as checked for the post hooks.
func (p *Plugin) checkF1Upload(info *model.FileInfo, file io.Reader) error {
	if err := checkF1Info(info); err != nil {
		return err
	}
	if file == nil {
		return fmt.Errorf("%s (no content)", filesIntro)
	}
	if err := checkF1Header(file); err != nil {
		return err
	}
	if !model.IsValidId(info.Id) {
		return fmt.Errorf("%s (the upload has no file ID)", filesIntro)
	}
	if appErr := p.API.KVSet(kvF1UploadPrefix+info.Id, []byte(info.ChannelId)); appErr != nil {
		return fmt.Errorf("cannot record the encrypted file: %w", appErr)
	}
	return nil
}

// checkEncryptedPostFiles: every file of an encrypted post is an F1 file that its author uploaded
// into this channel (checked at upload by this plugin), not deleted and not attached elsewhere.
func (p *Plugin) checkEncryptedPostFiles(post *model.Post) error {
	if len(post.FileIds) > maxPostFiles {
		return &PostRejectedError{Reason: fmt.Sprintf("an encrypted post carries at most %d files", maxPostFiles)}
	}
	seen := map[string]bool{}
	for _, id := range post.FileIds {
		if seen[id] {
			return &PostRejectedError{Reason: "a file is attached twice"}
		}
		seen[id] = true
		info, appErr := p.API.GetFileInfo(id)
		if appErr != nil && appErr.StatusCode != http.StatusNotFound {
			return fmt.Errorf("reading an attached file's info: %w", appErr)
		}
		if appErr != nil || info == nil {
			return &PostRejectedError{Reason: "an attached file does not exist"}
		}
		switch {
		case info.ChannelId != post.ChannelId:
			return &PostRejectedError{Reason: "an attached file belongs to another channel"}
		case info.CreatorId != post.UserId:
			return &PostRejectedError{Reason: "an attached file was uploaded by someone else"}
		case info.DeleteAt != 0:
			return &PostRejectedError{Reason: "an attached file was deleted"}
		case info.PostId != "" && info.PostId != post.Id:
			return &PostRejectedError{Reason: "an attached file belongs to another post"}
		}
		if err := checkF1Info(info); err != nil {
			return &PostRejectedError{Reason: "an attached file is not encrypted: " + err.Error()}
		}
		ch, appErr := p.API.KVGet(kvF1UploadPrefix + id)
		if appErr != nil {
			return fmt.Errorf("reading the encrypted file record: %w", appErr)
		}
		if string(ch) != post.ChannelId {
			return &PostRejectedError{Reason: "an attached file was not uploaded encrypted into this channel"}
		}
	}
	return nil
}
