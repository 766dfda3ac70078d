package cluster

import (
	"errors"
	"strconv"
	"strings"
)

// A client ID may hold ':' and '@' and '.', which a JetStream key can not
// hold as they are ('.' separates subject tokens). keyOf keeps letters,
// digits, '-' and '_' and writes any other byte as '=' and two hex digits,
// so the mapping is one to one and reversible.
func keyOf(id string) string {
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

var errBadKey = errors.New("cluster: key is not one keyOf made")

// idOf reverses keyOf.
func idOf(key string) (string, error) {
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
			return "", errBadKey
		}
		v, err := strconv.ParseUint(key[i+1:i+3], 16, 8)
		if err != nil {
			return "", errBadKey
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), nil
}
