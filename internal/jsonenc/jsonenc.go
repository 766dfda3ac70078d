// Package jsonenc appends JSON values byte for byte as encoding/json
// writes them, for the hand-written encoders of what is stored behind the
// hot path (the registry's records, the event log's events): they run for
// every record or event of a storm, where encoding/json's reflection and
// garbage were most of the writer's CPU. Safe for concurrent use.
package jsonenc

import (
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// plain8 reports whether the 8 bytes of s are all plain (see plain), eight
// at a time: the bytes that are not are the ASCII controls, '"', '\\',
// '<', '>', '&' and every byte of 0x80 and up.
func plain8(s string) bool {
	w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	// A byte b of w is below c when b - c borrows into its high bit while
	// b's own high bit is clear; equal to c when b ^ c is below 1.
	below := func(w, c uint64) uint64 { return (w - c*ones) &^ w & highs }
	bad := w&highs | below(w, 0x20) |
		below(w^('"'*ones), 1) | below(w^('\\'*ones), 1) |
		below(w^('<'*ones), 1) | below(w^('>'*ones), 1) | below(w^('&'*ones), 1)
	return bad == 0
}

// plain holds the ASCII bytes a string carries as they are (encoding/json's
// htmlSafeSet): one load a byte instead of six comparisons, the most of
// AppendString's CPU for the short, plain strings of records and events.
var plain = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
	}
	return t
}()

// AppendString quotes s exactly as encoding/json does by default: HTML
// characters, control bytes, U+2028/U+2029 escaped, invalid UTF-8 replaced
// by U+FFFD.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) && plain8(s[i:i+8]) {
			i += 8
			continue
		}
		b := s[i]
		if b < utf8.RuneSelf {
			if plain[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
