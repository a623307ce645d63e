package main

import (
	"fmt"
	"io"
	"net/http"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/mme2ee/mattermost-plugin-e2ee/server/e2eeformat"
)

// kvF1UploadPrefix marks a file whose F1 header this plugin checked at upload, in an encrypted
// channel: kvF1UploadPrefix + fileID = channel ID.
const (
	kvF1UploadPrefix = "f1up:"
	maxPostFiles     = 10
)

// checkF1Info: name, type and size of an encrypted file as the web app uploads it (format F1,
// docs/design.md §15).
func checkF1Info(info *model.FileInfo) error {
	return e2eeformat.CheckF1File(info.Name, info.MimeType, info.Size)
}

// checkF1Upload accepts an upload into an encrypted channel only in the F1 format; it reads the
// header only, and remembers the file as checked for the post hooks.
func (p *Plugin) checkF1Upload(info *model.FileInfo, file io.Reader) error {
	if err := checkF1Info(info); err != nil {
		return err
	}
	if file == nil {
		return fmt.Errorf("%s (no content)", e2eeformat.FilesIntro)
	}
	if err := e2eeformat.CheckF1Header(file); err != nil {
		return err
	}
	if !model.IsValidId(info.Id) {
		return fmt.Errorf("%s (the upload has no file ID)", e2eeformat.FilesIntro)
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
