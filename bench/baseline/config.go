package baseline

import (
	"cmp"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/client"
	"github.com/cliser/cliser/protocol"
)

// Config is the baseline server's configuration. Zero fields take the
// defaults of `cliser serve` (see INTERFACE.md), so a benchmark run with
// defaults compares like with like.
type Config struct {
	// Addr is the TCP address to listen on; "" means 127.0.0.1:0.
	Addr string
	// Passwords are the accepted passwords (more than one allows rotation).
	// At least one is required.
	Passwords [][]byte
	// KeepAliveInterval is the time between keep-alives to a registered client.
	KeepAliveInterval time.Duration
	// KeepAliveTimeout is how long a client has to echo a keep-alive.
	KeepAliveTimeout time.Duration
	// HandshakeTimeout is how long a new connection has to give password and ID.
	HandshakeTimeout time.Duration
	// WriteTimeout bounds one flush to a client. A client that does not read
	// for this long is dropped, so it cannot pin its writer goroutine forever.
	WriteTimeout time.Duration
	// MaxConns caps open sockets, registered or not; 0 means no cap. The cap
	// on registered clients is the registry's (registry.WithMaxClients).
	MaxConns int
	// Logger receives connection events; nil logs nothing. Passwords and
	// tokens are never logged.
	Logger *zap.Logger
}

// Defaults, the same as `cliser serve`.
const (
	DefaultAddr              = "127.0.0.1:0"
	DefaultKeepAliveInterval = 30 * time.Second
	DefaultKeepAliveTimeout  = 10 * time.Second
	DefaultHandshakeTimeout  = 10 * time.Second
	DefaultWriteTimeout      = 10 * time.Second
)

// closeLinger bounds how long a closing connection waits for its client to
// close too after the server's last line and FIN. Reading until then keeps
// unread input from turning the close into a reset that could destroy the
// "190 <reason>" line before the client reads it.
const closeLinger = time.Second

// outboxSize is the capacity of a connection's writer mailbox. A session
// has at most six lines in flight (110, 120, 140, a keep-alive, one 130, a
// 190); a client that lets this many pile up is a slow consumer and is
// dropped. Small, because every idle connection holds one.
const outboxSize = 16

// mailboxSize is the capacity of the manager's mailbox. Readers block when it
// is full, which is the design's natural back-pressure.
const mailboxSize = 4096

func (c Config) withDefaults() Config {
	c.Addr = cmp.Or(c.Addr, DefaultAddr)
	c.KeepAliveInterval = client.OrDefault(c.KeepAliveInterval, DefaultKeepAliveInterval)
	c.KeepAliveTimeout = client.OrDefault(c.KeepAliveTimeout, DefaultKeepAliveTimeout)
	c.HandshakeTimeout = client.OrDefault(c.HandshakeTimeout, DefaultHandshakeTimeout)
	c.WriteTimeout = client.OrDefault(c.WriteTimeout, DefaultWriteTimeout)
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	return c
}

func (c Config) validate() error {
	if len(c.Passwords) == 0 {
		return ErrNoPassword
	}
	for i, p := range c.Passwords {
		if protocol.ValidatePassword(p) != nil {
			return fmt.Errorf("%w (password #%d)", ErrBadPassword, i+1)
		}
	}
	return nil
}
