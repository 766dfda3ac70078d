package client

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
)

func testConfig(addr string) Config {
	return Config{Addr: addr, Password: "s3cret", ID: "pos-0042", HandshakeTimeout: 2 * time.Second}
}

func dialT(t *testing.T, cfg Config) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// waitErr is Wait with a deadline, so that a hang fails the test.
func waitErr(t *testing.T, c *Conn) error {
	t.Helper()
	select {
	case <-c.Done():
		return c.Wait()
	case <-time.After(5 * time.Second):
		t.Fatal("session did not end")
		return nil
	}
}

func TestDialPipelinedHandshake(t *testing.T) {
	answers := make(chan [2]string, 1)
	srv := newScriptedServer(t, func(c *scriptConn) {
		// handshake() reads both answers before sending a single byte:
		// only a pipelining client gets past it.
		pw, id, ok := c.handshake("17")
		if ok {
			answers <- [2]string{pw, id}
		}
		c.waitEOF()
	})
	conn := dialT(t, testConfig(srv.addr()))
	assert.Equal(t, uint16(17), conn.SID())
	assert.Equal(t, "pos-0042", conn.ID())
	assert.Equal(t, [2]string{"110 s3cret", "120 pos-0042"}, <-answers)
	require.NoError(t, conn.Close(context.Background()))
	assert.ErrorIs(t, conn.Wait(), ErrClosed)
}

func TestDialHandshakeSplitAcrossReads(t *testing.T) {
	// The server's lines arrive byte by byte: framing must reassemble them.
	srv := newScriptedServer(t, func(c *scriptConn) {
		c.readLine()
		c.readLine()
		for _, b := range []byte("110 password\r\n120 id\n140 connected 65535\n") {
			if !c.send(string([]byte{b})) {
				return
			}
		}
		c.waitEOF()
	})
	conn := dialT(t, testConfig(srv.addr()))
	assert.Equal(t, uint16(65535), conn.SID())
}

func TestKeepAlivesEchoedOverSeveralRounds(t *testing.T) {
	echoes := make(chan []string, 1)
	srv := newScriptedServer(t, afterHandshake("3", func(c *scriptConn) {
		var got []string
		for _, tok := range []uint64{1, 2, 99, 18446744073709551615, 7} {
			c.send("100 " + strconv.FormatUint(tok, 10) + "\n")
			line, ok := c.readLine()
			if !ok {
				break
			}
			got = append(got, line)
		}
		echoes <- got
		c.waitEOF()
	}))
	dialT(t, testConfig(srv.addr()))
	assert.Equal(t, []string{"100 1", "100 2", "100 99", "100 18446744073709551615", "100 7"}, <-echoes)
}

// A token is "a decimal number" (PROTOCOL.md): one cliser would not pick
// (leading zeros, beyond 64 bits) is still echoed, byte for byte. The
// agent dropped the connection ("bad keep-alive") at either.
func TestKeepAliveTokensOfAnyDecimalAreEchoed(t *testing.T) {
	tokens := []string{"00042", "18446744073709551616", "0", "123456789012345678901234567890"}
	echoes := make(chan []string, 1)
	srv := newScriptedServer(t, afterHandshake("3", func(c *scriptConn) {
		var got []string
		for _, tok := range tokens {
			c.send("100 " + tok + "\n")
			line, ok := c.readLine()
			if !ok {
				break
			}
			got = append(got, strings.TrimPrefix(line, "100 "))
		}
		echoes <- got
		c.waitEOF()
	}))
	dialT(t, testConfig(srv.addr()))
	assert.Equal(t, tokens, <-echoes)
}

// A client relies on the code, not the words (PROTOCOL.md): a 130 is the
// shutdown order and a 140 the notice with its sid whatever words they
// carry. The agent refused both ("bad shutdown order", "bad connected
// notice") and reconnected instead of shutting down.
func TestServerLinesAreReadByTheirCode(t *testing.T) {
	for wire, want := range map[string]string{
		"130\n":            "",
		"130 \n":           "",
		"130 halt now\n":   "halt now",
		"130 reboot\n":     "reboot",
		"130 shutdown\n":   "",
		"130 shutdown x\n": "x",
	} {
		t.Run(wire, func(t *testing.T) {
			acks := make(chan string, 1)
			srv := newScriptedServer(t, func(c *scriptConn) {
				c.readLine()
				c.readLine()
				c.send("110 password\n120 id\n140 registered 7\n" + wire)
				line, _ := c.readLine()
				acks <- line
			})
			var text atomic.Value
			cfg := testConfig(srv.addr())
			cfg.OnShutdown = func(s string) { text.Store(s) }
			conn := dialT(t, cfg)
			assert.Equal(t, uint16(7), conn.SID())
			assert.Equal(t, "130 ok", <-acks)
			require.ErrorIs(t, waitErr(t, conn), ErrShutdown)
			assert.Equal(t, want, text.Load())
		})
	}
}

func TestKeepAlivesBatchedInOneSegment(t *testing.T) {
	echoes := make(chan []string, 1)
	srv := newScriptedServer(t, func(c *scriptConn) {
		c.readLine()
		c.readLine()
		// 140 and two keep-alives in one write: the echoes must still come.
		c.send("110 password\n120 id\n140 connected 3\n100 5\n100 6\n")
		a, _ := c.readLine()
		b, _ := c.readLine()
		echoes <- []string{a, b}
		c.waitEOF()
	})
	dialT(t, testConfig(srv.addr()))
	assert.Equal(t, []string{"100 5", "100 6"}, <-echoes)
}

func TestShutdownAckedThenHookOnce(t *testing.T) {
	acks := make(chan string, 1)
	srv := newScriptedServer(t, afterHandshake("9", func(c *scriptConn) {
		c.send("130 shutdown maintenance window\n")
		line, _ := c.readLine()
		acks <- line
		// a keep-alive racing the close is ignored after the ack
		c.send("100 4\n")
	}))
	var calls atomic.Int32
	var text atomic.Value
	cfg := testConfig(srv.addr())
	cfg.OnShutdown = func(s string) { calls.Add(1); text.Store(s) }
	conn := dialT(t, cfg)
	assert.Equal(t, "130 ok", <-acks)
	err := waitErr(t, conn)
	require.ErrorIs(t, err, ErrShutdown)
	var ce *ClosedError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "maintenance window", ce.Text)
	assert.Equal(t, int32(1), calls.Load())
	assert.Equal(t, "maintenance window", text.Load())
}

// A shutdown order whose ack cannot be written (the server reset the
// connection right after it) stands: OnShutdown runs and the session ends
// with ErrShutdown. The order was taken as acked and OnShutdown skipped,
// so the agent exited 0 without its hook or a word (found by an audit).
// Whether the reset beats the ack's write, or the order itself, is the
// kernel's race: each round must be a whole order or a lost session.
func TestShutdownOrderStandsWhenItsAckCannotBeWritten(t *testing.T) {
	srv := newScriptedServer(t, afterHandshake("9", func(c *scriptConn) {
		c.send("130 shutdown bye\n")
		_ = c.nc.(*net.TCPConn).SetLinger(0) // the close is a reset
	}))
	orders := 0
	for range 20 {
		var calls atomic.Int32
		cfg := testConfig(srv.addr())
		cfg.OnShutdown = func(string) { calls.Add(1) }
		err := waitErr(t, dialT(t, cfg))
		if errors.Is(err, ErrShutdown) {
			orders++
			require.EqualValues(t, 1, calls.Load(), "an order ended the session without its hook")
		} else {
			require.ErrorIs(t, err, ErrConnLost, "the reset lost the order itself")
			require.Zero(t, calls.Load())
		}
	}
	t.Logf("%d of 20 rounds saw the order", orders)
}

// After a 130 ack the linger rules, not IdleTimeout: a server that does
// not close is left after ShutdownLinger even when the idle timeout is far
// longer (the agent's 2m against its 5s linger; a mutation audit).
func TestShutdownLingerClosesWhenServerDoesNot(t *testing.T) {
	sawEOF := make(chan bool, 1)
	srv := newScriptedServer(t, afterHandshake("9", func(c *scriptConn) {
		c.send("130 shutdown\n")
		c.readLine()
		sawEOF <- c.waitEOF() // the server keeps the connection open
	}))
	cfg := testConfig(srv.addr())
	cfg.ShutdownLinger = 50 * time.Millisecond
	cfg.IdleTimeout = time.Minute
	conn := dialT(t, cfg)
	assert.True(t, <-sawEOF, "client must close after the linger")
	err := waitErr(t, conn)
	require.ErrorIs(t, err, ErrShutdown)
	assert.Equal(t, "", err.(*ClosedError).Text)
}

var sentinelFor = map[protocol.Reason]error{
	protocol.ReasonAuthFailed:         ErrAuthFailed,
	protocol.ReasonBadID:              ErrBadID,
	protocol.ReasonProtocolError:      ErrProtocolRejected,
	protocol.ReasonLineTooLong:        ErrLineTooLongRemote,
	protocol.ReasonHandshakeTimeout:   ErrHandshakeTimeout,
	protocol.ReasonKeepaliveTimeout:   ErrKeepaliveTimeout,
	protocol.ReasonReplaced:           ErrReplaced,
	protocol.ReasonKicked:             ErrKicked,
	protocol.ReasonServerFull:         ErrServerFull,
	protocol.ReasonTooManyAttempts:    ErrTooManyAttempts,
	protocol.ReasonBanned:             ErrBanned,
	protocol.ReasonRevoked:            ErrRevoked,
	protocol.ReasonServerShuttingDown: ErrServerShuttingDown,
}

func TestCloseReasonsDuringHandshakeAreTyped(t *testing.T) {
	for _, r := range protocol.Reasons() {
		if !r.SentOnWire() {
			continue
		}
		t.Run(r.String(), func(t *testing.T) {
			srv := newScriptedServer(t, func(c *scriptConn) {
				c.readLine()
				c.readLine()
				c.send("110 password\n")
				c.send(string(protocol.AppendClose(nil, r)))
			})
			_, err := Dial(context.Background(), testConfig(srv.addr()))
			require.Error(t, err)
			assert.ErrorIs(t, err, sentinelFor[r])
			assert.True(t, IsReason(err, r))
			assert.Equal(t, r, ReasonOf(err))
			for other, s := range sentinelFor {
				if other != r {
					assert.NotErrorIs(t, err, s)
				}
			}
		})
	}
}

func TestCloseReasonsAfterRegistrationAreTyped(t *testing.T) {
	for r, sentinel := range sentinelFor {
		t.Run(r.String(), func(t *testing.T) {
			srv := newScriptedServer(t, afterHandshake("1", func(c *scriptConn) {
				c.send("100 1\n")
				c.readLine()
				c.send(string(protocol.AppendClose(nil, r)))
				c.waitEOF()
			}))
			conn := dialT(t, testConfig(srv.addr()))
			err := waitErr(t, conn)
			assert.ErrorIs(t, err, sentinel)
			assert.Equal(t, r, ReasonOf(err))
		})
	}
}

func TestUnknownCloseReasonKeepsText(t *testing.T) {
	srv := newScriptedServer(t, afterHandshake("1", func(c *scriptConn) {
		c.send("190 moon phase wrong\n")
		c.waitEOF()
	}))
	err := waitErr(t, dialT(t, testConfig(srv.addr())))
	var ce *ClosedError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, protocol.ReasonNone, ce.Reason)
	assert.Equal(t, "moon phase wrong", ce.Text)
	assert.Contains(t, err.Error(), "moon phase wrong")
}

// Garbage from the server ends the session with a ServerError: no panic,
// no hang, the socket closed.
var garbage = []struct {
	name  string
	wire  string
	cause error // nil: a line out of place
}{
	{"malformed", "1x0 hello\n", protocol.ErrMalformed},
	{"empty line", "\n", protocol.ErrMalformed},
	{"binary noise", "\xff\xfe\x00\x01\x02garbage\n", protocol.ErrMalformed},
	{"overlong line", "100 " + strings.Repeat("9", 600) + "\n", protocol.ErrLineTooLong},
	{"no LF at limit", "100 " + strings.Repeat("1", protocol.MaxLine), protocol.ErrLineTooLong},
	{"junk without LF", strings.Repeat("\x01", 8), protocol.ErrMalformed}, // refused as it comes
	{"token not a number", "100 abc\n", protocol.ErrBadToken},
	{"signed token", "100 -1\n", protocol.ErrBadToken},
	{"empty token", "100 \n", protocol.ErrBadToken},
	{"unknown code", "999 what\n", nil},
	{"prompt after registration", "110 password\n", nil},
	{"second connected", "140 connected 5\n", nil},
}

func TestGarbageAfterRegistration(t *testing.T) {
	for _, g := range garbage {
		t.Run(g.name, func(t *testing.T) {
			eof := make(chan bool, 1)
			srv := newScriptedServer(t, afterHandshake("1", func(c *scriptConn) {
				c.send(g.wire)
				eof <- c.waitEOF()
			}))
			var hook atomic.Int32
			cfg := testConfig(srv.addr())
			cfg.OnShutdown = func(string) { hook.Add(1) }
			err := waitErr(t, dialT(t, cfg))
			assert.ErrorIs(t, err, ErrBadServer)
			if g.cause != nil {
				assert.ErrorIs(t, err, g.cause)
			}
			var se *ServerError
			assert.ErrorAs(t, err, &se)
			assert.True(t, <-eof, "client must close the socket")
			assert.Zero(t, hook.Load())
		})
	}
}

// The error (which the agent logs) says what was wrong with the framing,
// not just that it was.
func TestOverlongServerLineIsNamed(t *testing.T) {
	for _, g := range garbage {
		if g.cause != protocol.ErrLineTooLong {
			continue
		}
		t.Run(g.name, func(t *testing.T) {
			srv := newScriptedServer(t, afterHandshake("1", func(c *scriptConn) {
				c.send(g.wire)
				c.waitEOF()
			}))
			err := waitErr(t, dialT(t, testConfig(srv.addr())))
			assert.EqualError(t, err, "client: bad input from server: framing: line too long")
		})
	}
}

func TestGarbageDuringHandshake(t *testing.T) {
	cases := map[string]string{
		"keep-alive before 140": "100 1\n",
		"shutdown before 140":   "130 shutdown\n",
		"bad sid 0":             "140 connected 0\n",
		"bad sid too big":       "140 connected 65536\n",
		"connected without sid": "140 connected\n",
		"binary noise":          "\x00\x00\x00\xff\n",
		"overlong":              strings.Repeat("a", 2000),
	}
	for name, wire := range cases {
		t.Run(name, func(t *testing.T) {
			srv := newScriptedServer(t, func(c *scriptConn) {
				c.readLine()
				c.readLine()
				c.send(wire)
				c.waitEOF()
			})
			conn, err := Dial(context.Background(), testConfig(srv.addr()))
			assert.Nil(t, conn)
			assert.ErrorIs(t, err, ErrBadServer)
		})
	}
}

// A handshake that timed out after the server's prompt is no silent
// server: no "no prompt" (whose advice is "add --tls"; a mutation audit).
func TestHandshakeTimeout(t *testing.T) {
	srv := newScriptedServer(t, func(c *scriptConn) {
		c.readLine()
		c.readLine()
		c.send("110 password\n") // and then nothing
		c.waitEOF()
	})
	cfg := testConfig(srv.addr())
	cfg.HandshakeTimeout = 100 * time.Millisecond
	start := time.Now()
	_, err := Dial(context.Background(), cfg)
	assert.ErrorIs(t, err, ErrHandshake)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "a timeout says so to errors.Is")
	assert.Less(t, time.Since(start), 3*time.Second)
	assert.NotErrorIs(t, err, errNoPrompt)
	assert.Empty(t, tlsFix(err, nil), "no TLS advice for a server that spoke: %v", err)
	assert.Contains(t, err.Error(), "no connected notice within 100ms")
}

func TestDialContextCancelledDuringHandshake(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	srv := newScriptedServer(t, func(c *scriptConn) {
		c.readLine()
		c.readLine()
		cancel() // the client now waits for the 140 that never comes
		c.waitEOF()
	})
	_, err := Dial(ctx, testConfig(srv.addr()))
	assert.ErrorIs(t, err, ErrHandshake)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestConnectionLostWithout190(t *testing.T) {
	srv := newScriptedServer(t, func(c *scriptConn) {
		c.handshake("2") // then the script returns and the socket closes
	})
	err := waitErr(t, dialT(t, testConfig(srv.addr())))
	assert.ErrorIs(t, err, ErrConnLost)
	assert.Equal(t, protocol.ReasonNone, ReasonOf(err))
}

func TestCloseTellsTheServer(t *testing.T) {
	eof := make(chan bool, 1)
	srv := newScriptedServer(t, afterHandshake("2", func(c *scriptConn) {
		eof <- c.waitEOF()
	}))
	conn := dialT(t, testConfig(srv.addr()))
	require.NoError(t, conn.Close(context.Background()))
	require.NoError(t, conn.Close(context.Background()), "second close is fine")
	assert.True(t, <-eof)
	assert.ErrorIs(t, conn.Wait(), ErrClosed)
}

func TestCloseHonoursContextWhileHookRuns(t *testing.T) {
	srv := newScriptedServer(t, afterHandshake("2", func(c *scriptConn) {
		c.send("130 shutdown\n")
		c.waitEOF()
	}))
	release := make(chan struct{})
	entered := make(chan struct{})
	cfg := testConfig(srv.addr())
	cfg.OnShutdown = func(string) { close(entered); <-release }
	conn := dialT(t, cfg)
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, conn.Close(ctx), context.DeadlineExceeded)
	close(release)
	assert.ErrorIs(t, waitErr(t, conn), ErrShutdown, "an acked shutdown stays the cause")
}

func TestConfigValidation(t *testing.T) {
	cases := map[string]Config{
		"no addr":        {Password: "p", ID: "a"},
		"no password":    {Addr: "x:1", ID: "a"},
		"password LF":    {Addr: "x:1", Password: "a\nb", ID: "a"},
		"password long":  {Addr: "x:1", Password: strings.Repeat("p", 257), ID: "a"},
		"no id":          {Addr: "x:1", Password: "p"},
		"id with space":  {Addr: "x:1", Password: "p", ID: "a b"},
		"id with slash":  {Addr: "x:1", Password: "p", ID: "a/b"},
		"id of 65 bytes": {Addr: "x:1", Password: "p", ID: strings.Repeat("i", 65)},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Dial(context.Background(), cfg)
			assert.ErrorIs(t, err, ErrConfig)
			if cfg.Password != "" {
				assert.NotContains(t, err.Error(), cfg.Password, "passwords never reach errors")
			}
		})
	}
}

func TestDialRefused(t *testing.T) {
	srv := newScriptedServer(t, func(*scriptConn) {})
	addr := srv.addr()
	srv.stop()
	_, err := Dial(context.Background(), testConfig(addr))
	require.Error(t, err)
	assert.False(t, errors.Is(err, ErrConfig))
	assert.Equal(t, protocol.ReasonNone, ReasonOf(err))
}

// Config.LocalAddr is the address the connection is dialled from: a load
// test spreads its clients over 127.x.y.z sources with it.
func TestDialFromLocalAddr(t *testing.T) {
	srv := newScriptedServer(t, afterHandshake("3", func(c *scriptConn) {
		c.waitEOF()
	}))
	cfg := testConfig(srv.addr())
	cfg.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 7)}
	conn := dialT(t, cfg)
	assert.Equal(t, "127.0.0.7", conn.LocalAddr().(*net.TCPAddr).IP.String())
	require.NoError(t, conn.Close(context.Background()))
}

// Dialling an address nothing listens on from that same address makes
// the kernel connect the socket to itself (TCP simultaneous open), as a
// redial of a local server that is down can by chance. Dial refuses such
// a connection as a dial error at once and frees the port: held, it kept
// the restarting server from its own port.
func TestDialRefusesAConnectionToItself(t *testing.T) {
	for _, tc := range []struct {
		name string
		tls  *tls.Config
	}{
		{"plain", nil},
		// The TLS handshake with itself ran first and failed as "tls:
		// received unexpected handshake message", which names no cause.
		{"tls", &tls.Config{MinVersion: tls.VersionTLS12}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			addr := ln.Addr().(*net.TCPAddr)
			require.NoError(t, ln.Close())

			cfg := testConfig(addr.String())
			cfg.LocalAddr = addr
			cfg.TLS = tc.tls
			conn, err := Dial(context.Background(), cfg)
			if conn != nil {
				_ = conn.Close(context.Background())
			}
			require.ErrorIs(t, err, ErrDial)
			assert.ErrorIs(t, err, errSelfConnect, "refused at the dial, not by the handshake")
			require.Eventually(t, func() bool {
				ln, err := net.Listen("tcp", addr.String())
				if err == nil {
					_ = ln.Close()
				}
				return err == nil
			}, 5*time.Second, 10*time.Millisecond, "the port is free again")
		})
	}
}
