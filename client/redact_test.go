package client

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A mistyped --server may reach a service that quotes back what it could
// not parse (Redis: "-ERR unknown command '110', with args beginning with:
// 'the-password'"). The error, which the agent logs, must not carry the
// password: it shows <password> instead.
func TestBadServerLineDoesNotShowThePassword(t *testing.T) {
	for name, reply := range map[string]string{
		"malformed":    "-ERR unknown command '110', with args beginning with: '%s' \r\n",
		"out of place": "500 unknown command 110 %s\n",
		"unknown 190":  "190 no such command: 110 %s\n",
	} {
		t.Run(name, func(t *testing.T) {
			const pw = "Fleet-Secret-77"
			srv := newScriptedServer(t, func(c *scriptConn) {
				line, ok := c.readLine()
				if !ok {
					return
				}
				c.send(strings.ReplaceAll(reply, "%s", strings.TrimPrefix(line, "110 ")))
				c.waitEOF()
			})
			err := dialWithPassword(t, srv, pw)
			assert.NotContains(t, err.Error(), pw)
			assert.Contains(t, err.Error(), "<password") // cut at 64 bytes
		})
	}
}

// A password of several words: Redis splits its input on spaces and quotes
// each word apart ("'correct' 'horse' ..."), so the whole password is
// nowhere in the line, and its first word was shown (late audit).
func TestBadServerLineDoesNotShowAPasswordsWords(t *testing.T) {
	const pw = "correct horse battery staple"
	srv := newScriptedServer(t, func(c *scriptConn) {
		line, ok := c.readLine()
		if !ok {
			return
		}
		args := ""
		for _, w := range strings.Fields(strings.TrimPrefix(line, "110 ")) {
			args += "'" + w + "' "
		}
		c.send("-ERR unknown command '110', with args beginning with: " + args + "\r\n")
		c.waitEOF()
	})
	err := dialWithPassword(t, srv, pw)
	for _, w := range strings.Fields(pw) {
		assert.NotContains(t, err.Error(), w)
	}
	assert.Contains(t, err.Error(), "<password") // the quote is cut at 64 bytes
}

// dialWithPassword dials srv with pw as the password and returns the
// error the dial must end in.
func dialWithPassword(t *testing.T, srv *scriptedServer, pw string) error {
	t.Helper()
	cfg := testConfig(srv.addr())
	cfg.Password = pw
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := Dial(ctx, cfg)
	require.Error(t, err)
	return err
}

// A service that quotes only the start of what it got: Redis quotes at
// most 128 bytes of the arguments, so a longer password was nowhere whole
// in the line, and its first bytes were shown up to the 64-byte cut
// ("...with args beginning with: 'Zq7xxxxxx").
func TestBadServerLineDoesNotShowAPasswordCutShort(t *testing.T) {
	pw := "Zq7" + strings.Repeat("k", 150)
	srv := newScriptedServer(t, func(c *scriptConn) {
		line, ok := c.readLine()
		if !ok {
			return
		}
		c.send("-ERR unknown command '110', with args beginning with: '" + strings.TrimPrefix(line, "110 ")[:128] + "' \r\n")
		c.waitEOF()
	})
	err := dialWithPassword(t, srv, pw)
	assert.NotContains(t, err.Error(), "Zq7")
	assert.Contains(t, err.Error(), "<password") // the quote is cut at 64 bytes
}

// A password shorter than a redacted word is still replaced where the
// line holds it whole: only its words and its cut-short starts need
// minRedactedWord bytes. The prefix pass left a password of one or two
// bytes in the line, as no redaction did before it.
func TestBadServerLineDoesNotShowAShortPassword(t *testing.T) {
	const pw = "Q7"
	srv := newScriptedServer(t, func(c *scriptConn) {
		line, ok := c.readLine()
		if !ok {
			return
		}
		c.send("500 unknown command " + line + "\n")
		c.waitEOF()
	})
	err := dialWithPassword(t, srv, pw)
	assert.NotContains(t, err.Error(), pw)
	assert.Contains(t, err.Error(), "110 <password>")
}

// A password whose start is a word of the server's own line ("unknown")
// leaves that word: marked, it said how the password begins. Only a start
// of minRedactedPrefix bytes or more is taken for a quote cut short.
func TestBadServerLineDoesNotMarkAShortStartOfThePassword(t *testing.T) {
	const pw = "unknown-but-secret-7f3a"
	srv := newScriptedServer(t, func(c *scriptConn) {
		if _, ok := c.readLine(); !ok {
			return
		}
		c.send("-ERR unknown command\r\n")
		c.waitEOF()
	})
	err := dialWithPassword(t, srv, pw)
	assert.Contains(t, err.Error(), "-ERR unknown command")
	assert.NotContains(t, err.Error(), "<password>")
}
