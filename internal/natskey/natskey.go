// Package natskey maps client IDs (and node IDs, ban values) one to one
// onto strings a JetStream key or a NATS subject token can hold. A client
// ID may hold ':' and '@' and '.', which a key can not hold as they are
// ('.' separates subject tokens). Escape keeps letters, digits, '-' and '_'
// and writes any other byte as '=' and two hex digits, so the mapping is
// reversible and never gives the bare "=" (the events stream's subject of
// events of no client).
package natskey

import (
	"errors"
	"strconv"
	"strings"
)

// ErrBadKey: Unescape was given a string Escape does not make.
var ErrBadKey = errors.New("key is not one natskey.Escape made")

// Escape is id as a key or subject token. Goroutine-safe.
func Escape(id string) string {
	var b strings.Builder
	b.Grow(len(id) + 8)
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			b.WriteByte(c)
		default:
			const hex = "0123456789ABCDEF"
			b.WriteByte('=')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xF])
		}
	}
	return b.String()
}

// Unescape reverses Escape. Goroutine-safe.
func Unescape(key string) (string, error) {
	if !strings.Contains(key, "=") {
		return key, nil
	}
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		if key[i] != '=' {
			b.WriteByte(key[i])
			continue
		}
		if i+3 > len(key) {
			return "", ErrBadKey
		}
		v, err := strconv.ParseUint(key[i+1:i+3], 16, 8)
		if err != nil {
			return "", ErrBadKey
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), nil
}
