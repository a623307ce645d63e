package e2eeformat

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"regexp"
)

// Encrypted files, format F1 (docs/design.md §15): what the server can check without a key.
const (
	F1HeaderBytes  = 20
	F1ChunkBytes   = 65536
	F1TagBytes     = 16
	f1SegmentBytes = F1ChunkBytes + F1TagBytes
	F1MimeType     = "application/octet-stream"
)

var (
	f1Magic  = []byte("MME2EEF")
	f1NameRE = regexp.MustCompile(`^[0-9a-f]{32}\.bin$`)
	// FilesIntro begins every refusal of a file in an encrypted channel.
	FilesIntro = "files in an encrypted channel must be encrypted by the E2EE plugin in the web app"
)

// F1SizeValid: a length an F1 writer produces (header, then full chunks, then a last chunk of
// 1..65536 bytes, or 0 bytes for an empty file), each chunk followed by its tag.
func F1SizeValid(size int64) bool {
	body := size - F1HeaderBytes
	if body < F1TagBytes {
		return false
	}
	n := body / f1SegmentBytes // ceil without overflowing near MaxInt64
	if body%f1SegmentBytes != 0 {
		n++
	}
	last := body - (n-1)*f1SegmentBytes
	return n == 1 || last > F1TagBytes
}

// CheckF1Header reads exactly the 20-byte header and checks it.
func CheckF1Header(r io.Reader) error {
	h := make([]byte, F1HeaderBytes)
	if _, err := io.ReadFull(r, h); err != nil {
		return fmt.Errorf("%s (shorter than the encrypted file header)", FilesIntro)
	}
	if !bytes.Equal(h[:7], f1Magic) || h[7] != 1 || binary.BigEndian.Uint32(h[8:12]) != F1ChunkBytes || h[19] != 0 {
		return fmt.Errorf("%s (no encrypted file header)", FilesIntro)
	}
	return nil
}

// CheckF1File: name, type and size of an encrypted file as the web app uploads it.
func CheckF1File(name, mimeType string, size int64) error {
	if !f1NameRE.MatchString(name) {
		return fmt.Errorf("%s (the name must be 32 random hex digits and .bin)", FilesIntro)
	}
	if mimeType != F1MimeType {
		return fmt.Errorf("%s (the type must be %s)", FilesIntro, F1MimeType)
	}
	if !F1SizeValid(size) {
		return fmt.Errorf("%s (its size is not one of an encrypted file)", FilesIntro)
	}
	return nil
}
