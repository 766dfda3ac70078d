package load

import (
	"cmp"
	"errors"
	"time"

	defaults "github.com/cliser/cliser/client" // for OrDefault: this package has a type client
	"github.com/cliser/cliser/protocol"
)

// Config says where the fleet connects and how. Zero optional fields take
// the defaults below.
type Config struct {
	// Addr is the server's "host:port". Required.
	Addr string
	// Password is answered to "110 password". Required.
	Password string
	// SecretKey, when set, gives each client its own 110 answer instead
	// of Password: Secret(SecretKey, its client-id), the secret a bench
	// enrolled for that ID (docs/identity.md). A key rather than the
	// secrets, so that load processes derive them too.
	SecretKey string
	// IDPrefix starts every client-id; the client's index follows it.
	// Default "bench-".
	IDPrefix string
	// FirstIndex numbers this fleet's first client, so that several fleets
	// (processes) give out distinct client-ids.
	FirstIndex int
	// SourceIPs are the local addresses clients dial from, round-robin
	// (each 127.x.y.z holds ~28k ephemeral ports). Empty: the kernel picks.
	SourceIPs []string
	// Probes is how many clients measure the keep-alive round trip (see the
	// package doc) while probing is on. They are the first Probes clients;
	// KeepAlive spreads their measurements over the keep-alive cycle.
	Probes int
	// KeepAlive is the server's keep-alive interval: the probes spread
	// their measurements over it (spread.go). 0: they reconnect at once and
	// keep the phase their ramp gave them.
	KeepAlive time.Duration
	// Concurrency caps handshakes in flight during a ramp. Default 256.
	Concurrency int
	// DialTimeout bounds a TCP connect. Default 5s.
	DialTimeout time.Duration
	// HandshakeTimeout bounds connect-to-"140 connected". Default 10s.
	HandshakeTimeout time.Duration
	// Transport names how clients are served, for reports: TransportEpoll,
	// the only one (a few loops read every socket), is the default.
	Transport string
	// Loops is the epoll transport's loop count. Default: one per CPU.
	Loops int
	// CloseLinger is how long a client that acked "130 shutdown" waits for
	// the server to close before it counts an error. Default 5s.
	CloseLinger time.Duration
}

const (
	defaultIDPrefix         = "bench-"
	defaultConcurrency      = 256
	defaultDialTimeout      = 5 * time.Second
	defaultHandshakeTimeout = 10 * time.Second
	defaultCloseLinger      = 5 * time.Second
)

// TransportEpoll is the load's one transport (epoll.go).
const TransportEpoll = "epoll"

// ErrConfig marks a configuration the fleet cannot run with.
var ErrConfig = errors.New("load: bad config")

func (c Config) withDefaults() Config {
	c.IDPrefix = cmp.Or(c.IDPrefix, defaultIDPrefix)
	c.Concurrency = defaults.OrDefault(c.Concurrency, defaultConcurrency)
	c.DialTimeout = defaults.OrDefault(c.DialTimeout, defaultDialTimeout)
	c.HandshakeTimeout = defaults.OrDefault(c.HandshakeTimeout, defaultHandshakeTimeout)
	c.Transport = cmp.Or(c.Transport, TransportEpoll)
	c.CloseLinger = defaults.OrDefault(c.CloseLinger, defaultCloseLinger)
	return c
}

func (c Config) validate() error {
	switch {
	case c.Addr == "":
		return errors.Join(ErrConfig, errors.New("no server address"))
	case protocol.ValidatePassword([]byte(c.Password)) != nil:
		return errors.Join(ErrConfig, errors.New("password must be 1 to 256 bytes without CR, LF or NUL"))
	case protocol.ValidateClientID([]byte(c.IDPrefix+"0")) != nil || len(c.IDPrefix) > protocol.MaxClientID-8:
		return errors.Join(ErrConfig, errors.New("id prefix must be client-id characters and leave room for an index"))
	case c.Transport != TransportEpoll:
		return errors.Join(ErrConfig, errors.New("transport must be epoll"))
	case c.Probes < 0:
		return errors.Join(ErrConfig, errors.New("probes must not be negative"))
	case c.KeepAlive < 0:
		return errors.Join(ErrConfig, errors.New("keep-alive interval must not be negative"))
	}
	return nil
}
