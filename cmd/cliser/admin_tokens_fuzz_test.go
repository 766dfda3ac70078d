package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzAdminTokenFile: --admin-token-file. What is accepted is exactly
// the file's lines less the spaces around them, empty ones skipped, each
// one word a bearer header can carry; the API's check trims what a client
// sends the same way, so each can match. A refusal is a configError with
// one of the fixed messages, naming the first bad line by number, never
// a token. Seeded with the binary test's files and the usage mistakes.
func FuzzAdminTokenFile(f *testing.F) {
	f.Add([]byte("token-old\n"))
	f.Add([]byte("token-old\ntoken-new\n"))
	f.Add([]byte("\n"))
	f.Add([]byte("token-new\nnot one word\n"))
	f.Add([]byte("good-token\r\n\r\n  spaced  \n"))
	f.Add([]byte("tab\there\n"))
	f.Add([]byte("del\x7f\n\u00a0nbsp\u00a0\n"))
	refusal := regexp.MustCompile(`^--admin-token-file tf (line (\d+) holds a space or a control character: ` +
		`a bearer token is one word of printable characters, one a line|holds no token: put one a line in it \(empty lines are skipped\))$`)
	f.Fuzz(func(t *testing.T, raw []byte) {
		toks, err := adminTokenLines("--admin-token-file tf", raw)
		var want []string // the model
		badLine := 0
		for n, line := range strings.Split(string(raw), "\n") {
			tok := strings.TrimSpace(line)
			if tok == "" {
				continue
			}
			if strings.ContainsFunc(tok, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
				badLine = n + 1
				break
			}
			want = append(want, tok)
		}
		if err != nil {
			var ce *configError
			require.True(t, errors.As(err, &ce), "refusal %v is no configError", err)
			m := refusal.FindStringSubmatch(err.Error())
			require.NotNil(t, m, "refusal %q is not one of the fixed messages (it may quote a token)", err)
			if badLine != 0 {
				assert.Equal(t, fmt.Sprint(badLine), m[2], "the first bad line")
			} else {
				assert.Empty(t, want, "refused with tokens to take: %q", err)
			}
			return
		}
		require.Zero(t, badLine, "line %d accepted", badLine)
		assert.Equal(t, want, toks)
		for _, tok := range toks {
			assert.Equal(t, tok, strings.TrimSpace(tok), "a token a client's trimmed header could not match")
			assert.True(t, bearerWord(tok))
		}
	})
}
