package main

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/cliser/cliser/protocol"
)

// FuzzPasswordFile: the server's password file and CLISER_PASSWORD. What
// is accepted is exactly the file's non-empty lines (LF or CRLF ends), each
// a password a client can send (1..MaxPassword bytes, no CR, LF or NUL) and
// never blank, and reads back the same when written one a line. A refusal
// is a configError naming the first bad line by number, never by its text
// (secrets never reach messages). Seeded with TestPasswordsFromEnvAndFile's.
func FuzzPasswordFile(f *testing.F) {
	f.Add([]byte("first\r\n\nsecond with space\n"), "from-env")
	f.Add([]byte("first\n \t \nsecond\n"), "   ")
	f.Add([]byte("a\rb\r"), "")
	f.Add([]byte("p\x00w\n"), "x\ny")
	f.Add([]byte("\r\n\r\n"), "\t")
	f.Add([]byte(strings.Repeat("p", protocol.MaxPassword+1)), strings.Repeat("e", protocol.MaxPassword))
	lineRefusal := regexp.MustCompile(fmt.Sprintf(`^--password-file pw line (\d+)(: a password is 1 to %d bytes without CR or NUL \(lines end in LF or CRLF\)| is only spaces or tabs: remove the line \(a blank password is refused\))$`,
		protocol.MaxPassword))
	f.Fuzz(func(t *testing.T, raw []byte, env string) {
		pws, err := passwordLines("pw", raw)
		var want [][]byte // the model: non-empty lines, first bad one refused
		badLine := 0
		for n, line := range bytes.Split(raw, []byte("\n")) {
			line = bytes.TrimSuffix(line, []byte("\r"))
			if len(line) == 0 {
				continue
			}
			if len(line) > protocol.MaxPassword || bytes.ContainsAny(line, "\r\x00") || len(bytes.Trim(line, " \t")) == 0 {
				badLine = n + 1
				break
			}
			want = append(want, line)
		}
		if err != nil {
			var ce *configError
			if !errors.As(err, &ce) {
				t.Fatalf("refusal %v is no configError", err)
			}
			m := lineRefusal.FindStringSubmatch(err.Error())
			if m == nil {
				t.Fatalf("refusal %q is not one of the fixed messages (it may quote a password)", err)
			}
			if m[1] != fmt.Sprint(badLine) {
				t.Fatalf("refusal names line %s, the first bad one is %d", m[1], badLine)
			}
		} else {
			if badLine != 0 {
				t.Fatalf("line %d accepted: %q", badLine, bytes.Split(raw, []byte("\n"))[badLine-1])
			}
			if len(pws) != len(want) {
				t.Fatalf("%d passwords, want %d", len(pws), len(want))
			}
			for i, pw := range pws {
				if protocol.ValidatePassword(pw) != nil || blank(string(pw)) || !bytes.Equal(pw, want[i]) {
					t.Fatalf("password %d: %q, want %q", i, pw, want[i])
				}
			}
			if len(pws) > 0 {
				again, err := passwordLines("pw", append(bytes.Join(pws, []byte("\r\n")), '\n'))
				if err != nil || len(again) != len(pws) {
					t.Fatalf("written back one a line: %d passwords, %v", len(again), err)
				}
			}
		}

		if env == "" {
			return // unset, as loadPasswords takes it
		}
		pw, err := envPassword(env)
		if err != nil {
			switch err.Error() {
			case fmt.Sprintf("CLISER_PASSWORD must be 1 to %d bytes without CR, LF or NUL", protocol.MaxPassword),
				"CLISER_PASSWORD is only spaces or tabs: a password any client could send by mistake; set a real one":
			default:
				t.Fatalf("refusal %q is not one of the fixed messages", err)
			}
			if protocol.ValidatePassword([]byte(env)) == nil && !blank(env) {
				t.Fatalf("CLISER_PASSWORD %q refused: %v", env, err)
			}
			return
		}
		if string(pw) != env || protocol.ValidatePassword(pw) != nil || blank(env) {
			t.Fatalf("CLISER_PASSWORD %q accepted as %q", env, pw)
		}
	})
}

// FuzzAgentPasswordFile: the agent's password is its file's first
// non-empty line, taken only when the server could take it (a password the
// server refuses, a blank one, would be refused at every connect); a
// refusal never quotes the file's text. Seeded with the agent tests' files.
func FuzzAgentPasswordFile(f *testing.F) {
	f.Add([]byte("s3cret\n"))
	f.Add([]byte("\r\n\nfirst\r\nsecond\n"))
	f.Add([]byte(" \t\nsecond\n"))
	f.Add([]byte("a\rb\r"))
	f.Add([]byte(""))
	refusal := regexp.MustCompile(fmt.Sprintf(`^--password-file pw( has no password in it|: a password is 1 to %d bytes without CR, LF or NUL|: a password of only spaces or tabs is refused by the server: set a real one)$`,
		protocol.MaxPassword))
	f.Fuzz(func(t *testing.T, raw []byte) {
		pw, err := firstPasswordLine("pw", raw)
		if err != nil {
			var ce *configError
			if !errors.As(err, &ce) || !refusal.MatchString(err.Error()) {
				t.Fatalf("refusal %q is not a configError with a fixed message (it may quote a password)", err)
			}
			return
		}
		var first string
		for _, line := range strings.Split(string(raw), "\n") {
			if first = strings.TrimSuffix(line, "\r"); first != "" {
				break
			}
		}
		if pw != first {
			t.Fatalf("password %q, the first non-empty line is %q", pw, first)
		}
		if _, err := envPassword(pw); err != nil {
			t.Fatalf("agent takes %q, which the server refuses: %v", pw, err)
		}
	})
}
