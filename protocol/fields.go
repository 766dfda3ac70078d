package protocol

import (
	"bytes"
	"strconv"
)

// ValidatePassword checks the password field rule: 1 to MaxPassword bytes,
// any byte but CR, LF and NUL.
func ValidatePassword(p []byte) error {
	if len(p) == 0 || len(p) > MaxPassword || bytes.ContainsAny(p, "\r\n\x00") {
		return ErrBadPassword
	}
	return nil
}

// ValidateClientID checks the client-id field rule: 1 to MaxClientID
// characters from A-Z a-z 0-9 . _ : @ -.
func ValidateClientID(id []byte) error {
	if len(id) == 0 || len(id) > MaxClientID {
		return ErrBadClientID
	}
	for _, b := range id {
		if !idByte[b] {
			return ErrBadClientID
		}
	}
	return nil
}

var idByte = func() (t [256]bool) {
	for b := 'A'; b <= 'Z'; b++ {
		t[b] = true
	}
	for b := 'a'; b <= 'z'; b++ {
		t[b] = true
	}
	for b := '0'; b <= '9'; b++ {
		t[b] = true
	}
	for _, b := range "._:@-" {
		t[b] = true
	}
	return t
}()

// ParseToken reads a keep-alive token: a decimal number in canonical form
// (no sign, no leading zero but for "0") that fits 64 bits. The canonical
// form makes "echo the same token" a byte-for-byte rule.
func ParseToken(arg []byte) (uint64, error) {
	v, ok := parseCanonicalUint(arg, 20)
	if !ok {
		return 0, ErrBadToken
	}
	return v, nil
}

// ParseSID reads the sid of "140 connected <sid>": 1 to 65535.
func ParseSID(arg []byte) (uint16, error) {
	v, ok := parseCanonicalUint(arg, 5)
	if !ok || v == 0 || v > 65535 {
		return 0, ErrBadSID
	}
	return uint16(v), nil
}

func parseCanonicalUint(b []byte, maxDigits int) (uint64, bool) {
	if len(b) == 0 || len(b) > maxDigits || (b[0] == '0' && len(b) > 1) {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (^uint64(0)-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

func quote(s string) string { return strconv.Quote(s) }
