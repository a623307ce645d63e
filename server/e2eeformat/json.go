package e2eeformat

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// InvalidMessageError says why client input is not an acceptable message, record or key.
type InvalidMessageError struct{ Reason string }

func (e *InvalidMessageError) Error() string { return "invalid encrypted message: " + e.Reason }

// Invalidf makes an *InvalidMessageError.
func Invalidf(format string, a ...any) error {
	return &InvalidMessageError{Reason: fmt.Sprintf(format, a...)}
}

// MaxSafeInteger is JavaScript's Number.MAX_SAFE_INTEGER, the bound of createdAt and epochs.
const MaxSafeInteger = 1<<53 - 1

// StrictDecode decodes data into out (a pointer) refusing unknown fields, repeated fields and
// trailing data: any of them could carry plaintext past the server.
func StrictDecode(data []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data")
	}
	return exactFields(data, reflect.TypeOf(out))
}

// exactFields checks object keys against the json tags of t, exactly: encoding/json matches
// names case-insensitively, so {"IV": "<text>", "iv": "<valid>"} would pass DisallowUnknownFields
// with the text ignored but stored. Nested structs are checked too.
func exactFields(data []byte, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	fields := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			fields[name] = t.Field(i).Type
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil // null, or a type json.Decode already refused
	}
	seen := make(map[string]bool, len(fields))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		ft, ok := fields[key]
		if !ok {
			return fmt.Errorf("json: unknown field %q", key)
		}
		if seen[key] {
			return fmt.Errorf("json: field %q given twice", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		if err := exactFields(raw, ft); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	return nil
}

// Base64Exact decodes strict standard base64 (docs/design.md §3) of n bytes (any length when n
// is negative): Go's decoder skips CR and LF even in strict mode, and the web app refuses them,
// so they are refused here first.
func Base64Exact(field, s string, n int) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, Invalidf("%s is not standard base64", field)
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, Invalidf("%s is not standard base64", field)
	}
	if n >= 0 && len(b) != n {
		return nil, Invalidf("%s must be %d bytes, got %d", field, n, len(b))
	}
	return b, nil
}

// SafeInteger reads a JSON number token whose value is an integer in [0, 2^53-1], judged by
// value as JavaScript does (1e3 and 1000.0 are 1000); strings, -0 and negatives are refused.
func SafeInteger(raw json.RawMessage) (uint64, bool) {
	if len(raw) == 0 || raw[0] < '0' || raw[0] > '9' {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != math.Trunc(f) || f > MaxSafeInteger {
		return 0, false
	}
	return uint64(f), true
}

// AppendFramed appends u32be(len(item)) || item for each item, the framing of v2 and v3 signed
// data that keeps item lists unambiguous.
func AppendFramed(dst []byte, items ...[]byte) []byte {
	for _, it := range items {
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(it)))
		dst = append(dst, it...)
	}
	return dst
}

func u32(n int) []byte    { return binary.BigEndian.AppendUint32(nil, uint32(n)) }
func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
