package e2eeformat

import (
	"errors"
	"strings"
)

const (
	// MaxBackupBytes bounds an armored backup.
	MaxBackupBytes = 32 * 1024
	pgpBegin       = "-----BEGIN PGP MESSAGE-----"
	pgpEnd         = "-----END PGP MESSAGE-----"
)

// ErrBackupTooLarge: the backup is over MaxBackupBytes.
var ErrBackupTooLarge = errors.New("backupGPG is too large")

// ValidateArmoredMessage accepts only an ASCII-armored OpenPGP message (RFC 4880 §6.2), so the
// server stores and mails nothing else under the name of a backup.
func ValidateArmoredMessage(s string) error {
	if len(s) > MaxBackupBytes {
		return ErrBackupTooLarge
	}
	t := strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	if !strings.HasPrefix(t, pgpBegin+"\n") || !strings.HasSuffix(t, "\n"+pgpEnd) {
		return errors.New("backupGPG must be an armored PGP MESSAGE")
	}
	body := strings.TrimSuffix(strings.TrimPrefix(t, pgpBegin+"\n"), "\n"+pgpEnd)
	lines := strings.Split(body, "\n")
	i := 0
	// Optional armor headers ("Key: value"), then a blank line.
	for i < len(lines) && strings.Contains(lines[i], ": ") {
		i++
	}
	if i > 0 {
		if i >= len(lines) || strings.TrimSpace(lines[i]) != "" {
			return errors.New("backupGPG: armor headers must end with a blank line")
		}
		i++
	} else if i < len(lines) && strings.TrimSpace(lines[i]) == "" {
		i++
	}
	data := 0
	for ; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			return errors.New("backupGPG: unexpected blank line in the armored data")
		}
		if strings.HasPrefix(l, "=") && i == len(lines)-1 {
			l = l[1:] // CRC-24 checksum line
		}
		for _, c := range []byte(l) {
			if !isBase64Char(c) {
				return errors.New("backupGPG: armored data is not base64")
			}
		}
		data++
	}
	if data == 0 {
		return errors.New("backupGPG: the armored message is empty")
	}
	return nil
}

func isBase64Char(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
}
