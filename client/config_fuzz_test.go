package client

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cliser/cliser/protocol"
)

// FuzzConfigValidate: a Config the agent builds from operator input. One
// that passes Validate can always say its handshake, and the server reads
// back the very password and ID (so a config that cannot work is refused
// at once, not retried for ever); a refusal wraps ErrConfig and never
// holds the password. Seeded with TestConfigValidation's cases.
func FuzzConfigValidate(f *testing.F) {
	f.Add("127.0.0.1:7070", "s3cret", "pos-0042")
	f.Add("", "p", "a")
	f.Add("x:1", "a\nb", "a")
	f.Add("x:1", strings.Repeat("p", 257), "a")
	f.Add("x:1", "p", "")
	f.Add("x:1", "p", "a b")
	f.Add("x:1", "p", "a/b")
	f.Add("x:1", "p", strings.Repeat("i", 65))
	f.Add("x:1", " pass word ", "dev-1")
	f.Add("x:1", "hunter2", "hunter2 x")
	f.Add("x:1", "hunter2", "a/b")
	f.Add("0", "2unt", "\x82unt")
	f.Fuzz(func(t *testing.T, addr, password, id string) {
		err := Config{Addr: addr, Password: password, ID: id}.Validate()
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("refusal %v does not wrap ErrConfig", err)
			}
			// What a refusal shows anyway: the ID as it quotes it (the
			// password "2unt" is a piece of the ID "\x82unt" so quoted),
			// and its fixed words.
			shown := []string{id, strconv.Quote(id), "password must be 1 to 256 bytes without CR, LF or NUL no server address"}
			if len(password) >= 4 && strings.Contains(err.Error(), password) &&
				!slices.ContainsFunc(shown, func(s string) bool { return strings.Contains(s, password) }) {
				t.Fatalf("refusal %q holds the password", err)
			}
			return
		}
		wire, err := handshakeAnswers([]byte(password), []byte(id))
		if err != nil {
			t.Fatalf("valid config, no handshake: %v", err)
		}
		for i, want := range []struct {
			code protocol.Code
			arg  string
		}{{protocol.CodePassword, password}, {protocol.CodeID, id}} {
			line, n, err := protocol.NextLine(wire)
			if err != nil || n == 0 {
				t.Fatalf("answer %d of %q: no line (%v)", i, wire, err)
			}
			l, err := protocol.Parse(line)
			if err != nil || l.Code != want.code || string(l.Arg) != want.arg {
				t.Fatalf("answer %d of %q reads %d %q (%v), want %d %q", i, wire, l.Code, l.Arg, err, want.code, want.arg)
			}
			wire = wire[n:]
		}
		if len(wire) != 0 {
			t.Fatalf("%q left after both answers", wire)
		}
	})
}
