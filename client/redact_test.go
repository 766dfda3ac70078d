package client

import (
	"context"
	"strings"
	"sync/atomic"
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

// The bounds docs/agent.md gives for the redaction, each pinned from both
// sides: a word of a password of several (two are several) is replaced
// from 3 bytes on, a quote of the password's start from 12 bytes on, and
// a quote cut short is replaced whole (its longest start that the line
// holds), so no byte of it is left after the mark. A mutation audit
// moved each bound by one, and replaced the shortest start instead of
// the longest, with every test passing. The server quotes in a line of
// its own ("500 '...'"), short enough for the 64-byte cut to keep all of
// it.
func TestBadServerLineRedactionBounds(t *testing.T) {
	const long = "Kp4sW9xQ2mZt-Hd6vN3rL8cY" // 24 bytes, no part of it in the server's line
	for name, tc := range map[string]struct {
		pw, quote   string
		shown, gone []string
	}{
		"a word of 3 bytes is replaced, of 2 is left": {
			pw: "Qx 7Kz Wm9pR", quote: "'Qx' '7Kz' 'Wm9pR'",
			shown: []string{"'Qx' '<password>' '<password>'"}, gone: []string{"7Kz", "Wm9pR"},
		},
		"each of two words is replaced": {
			pw: "Wm9pR 7Kzq", quote: "'Wm9pR' '7Kzq'",
			shown: []string{"'<password>' '<password>'"}, gone: []string{"Wm9pR", "7Kzq"},
		},
		"a start of 12 bytes is replaced": {
			pw: long, quote: "'" + long[:12] + "'",
			shown: []string{"'<password>'"}, gone: []string{long[:12]},
		},
		"a start of 11 bytes is left": {
			pw: long, quote: "'" + long[:11] + "'",
			shown: []string{"'" + long[:11] + "'"},
		},
		"all but its last byte is replaced": {
			pw: long, quote: "'" + long[:23] + "'",
			shown: []string{"'<password>'"},
		},
		"a start cut short is replaced whole": {
			pw: long, quote: "'" + long[:20] + "'",
			shown: []string{"'<password>'"}, gone: []string{long[12:20]},
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv := newScriptedServer(t, func(c *scriptConn) {
				if _, ok := c.readLine(); !ok {
					return
				}
				c.send("500 " + tc.quote + "\n")
				c.waitEOF()
			})
			msg := dialWithPassword(t, srv, tc.pw).Error()
			for _, s := range tc.shown {
				assert.Contains(t, msg, s)
			}
			for _, s := range tc.gone {
				assert.NotContains(t, msg, s)
			}
		})
	}
}

// A shutdown order's text reaches the log, the ClosedError and the hook's
// environment: a server that put the password in it had it shown in all
// three, where a 190's text had it marked (agent audit).
func TestShutdownTextDoesNotShowThePassword(t *testing.T) {
	const pw = "hunter2secret"
	srv := newScriptedServer(t, afterHandshake("5", func(c *scriptConn) {
		c.send("130 shutdown maint " + pw + "\n")
		c.readLine() // the ack; then the server closes
	}))
	var text atomic.Value
	cfg := testConfig(srv.addr())
	cfg.Password = pw
	cfg.OnShutdown = func(s string) { text.Store(s) }
	err := waitErr(t, dialT(t, cfg))
	var ce *ClosedError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "maint <password>", ce.Text)
	assert.Equal(t, "maint <password>", text.Load())
	assert.NotContains(t, err.Error(), pw)
}
