package client

import (
	"crypto/tls"
	"net"
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/protocol"
)

// Config says where to connect and who to be. The zero values of the
// optional fields get the defaults below.
type Config struct {
	// Addr is the server's "host:port". Required.
	Addr string
	// Password is answered to "110 password". Required; 1 to 256 bytes, no
	// CR, LF or NUL. It is never logged.
	Password string
	// PasswordSource says where Password came from ("CLISER_PASSWORD",
	// "--password-file F"); Run names it when the server refuses the
	// password. Optional.
	PasswordSource string
	// ReadPassword, when set, is called before every attempt after the
	// first (by Run, on its goroutine) and what it returns answers that
	// attempt's 110: a secret rotated into a device's password file is
	// used without a restart. When it fails, or returns no valid
	// password, the attempt keeps the password it had and Run logs why,
	// once until a read works again. Its errors must not hold the
	// password.
	ReadPassword func() (string, error)
	// TryNow, when set, ends Run's wait between attempts at once on each
	// receive (the agent's SIGHUP, after an operator fixed what the
	// server refused), one sent while the attempt before the wait failed
	// included. A token sent while a session was up is dropped as it
	// ends, so it does not skip the backoff after it.
	TryNow <-chan struct{}
	// ID is the client-id answered to "120 id". Required; 1 to 64 of
	// A-Z a-z 0-9 . _ : @ -.
	ID string

	// DialTimeout bounds the TCP (and TLS) connect. Default 10s.
	DialTimeout time.Duration
	// HandshakeTimeout bounds the time from connect to "140 connected".
	// Default 10s.
	HandshakeTimeout time.Duration
	// WriteTimeout bounds each write (keep-alive echo, 130 ok). Default 10s.
	WriteTimeout time.Duration
	// ShutdownLinger is how long the client waits for the server to close
	// after it acked a 130 before it closes itself. Default 5s.
	ShutdownLinger time.Duration
	// IdleTimeout, when positive, ends a registered session that has
	// received no line from the server for this long (the error wraps
	// ErrConnLost and ErrServerSilent), so that Run reconnects. A server
	// that froze, or a peer that vanished behind a NAT or proxy, keeps the
	// socket open and says nothing: without it the client would wait
	// forever. Set it well above the server's --keepalive-interval. Zero
	// (the default for Go callers) turns it off; the agent's
	// --idle-timeout defaults to 2m.
	IdleTimeout time.Duration

	// LocalAddr, when set, is the local address to dial from (a load test
	// spreading its clients over several 127.x.y.z sources); nil lets the
	// kernel pick.
	LocalAddr net.Addr

	// TLS, when set, wraps the connection in TLS with this config.
	TLS *tls.Config
	// ReadTLS, when set, is called before every attempt after the first
	// (by Run, on its goroutine) and the config it returns replaces TLS
	// for that attempt: a CA bundle renewed on disk is trusted without a
	// restart. When it fails, or returns nil, the attempt keeps the
	// config it had and Run logs why, once until a read works again.
	ReadTLS func() (*tls.Config, error)
	// Logger gets debug lines about the session; nil means no logs.
	Logger *zap.Logger

	// OnShutdown is called once when the server orders "130 shutdown",
	// after "130 ok" has been written, or its write has failed: the order
	// stands either way (a device told to stop that came back instead
	// would defeat it). It runs on the connection's reader
	// goroutine, so keep-alives are not answered while it runs (the server
	// closes the connection after the ack anyway). text is the operator's
	// reason, "" when none.
	OnShutdown func(text string)
}

const (
	defaultDialTimeout      = 10 * time.Second
	defaultHandshakeTimeout = 10 * time.Second
	defaultWriteTimeout     = 10 * time.Second
	defaultShutdownLinger   = 5 * time.Second
)

// withDefaults returns a copy with every zero optional field filled in.
func (c Config) withDefaults() Config {
	c.DialTimeout = OrDefault(c.DialTimeout, defaultDialTimeout)
	c.HandshakeTimeout = OrDefault(c.HandshakeTimeout, defaultHandshakeTimeout)
	c.WriteTimeout = OrDefault(c.WriteTimeout, defaultWriteTimeout)
	c.ShutdownLinger = OrDefault(c.ShutdownLinger, defaultShutdownLinger)
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	return c
}

// Validate reports whether the config can work at all; a config that fails
// it is not worth retrying. The error wraps ErrConfig and never holds the
// password.
func (c Config) Validate() error {
	if c.Addr == "" {
		return configError("no server address")
	}
	if err := protocol.ValidatePassword([]byte(c.Password)); err != nil {
		return configError("password must be 1 to %d bytes without CR, LF or NUL", protocol.MaxPassword)
	}
	if err := protocol.ValidateClientID([]byte(c.ID)); err != nil {
		return configError("id %q: must be 1 to %d characters of A-Z a-z 0-9 . _ : @ -", c.ID, protocol.MaxClientID)
	}
	return nil
}

// handshakeAnswers is the pipelined handshake: both answers in one write.
func handshakeAnswers(password, id []byte) ([]byte, error) {
	out, err := protocol.AppendPasswordAnswer(make([]byte, 0, len(password)+len(id)+10), password)
	if err != nil {
		return nil, err
	}
	return protocol.AppendIDAnswer(out, id)
}
