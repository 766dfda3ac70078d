package benchserver

import (
	"flag"
	"time"
)

// Flags are the flags every comparison server takes, under the names the
// harness passes (the same as `cliser serve`'s).
type Flags struct {
	Listen           string
	KeepAlive        time.Duration
	KeepAliveTimeout time.Duration
	HandshakeTimeout time.Duration
}

// Register adds the flags to fs, with def's values as their defaults.
func (f *Flags) Register(fs *flag.FlagSet, def Flags) {
	fs.StringVar(&f.Listen, "listen", def.Listen, "the protocol's TCP address")
	fs.DurationVar(&f.KeepAlive, "keepalive-interval", def.KeepAlive, "time between keep-alives to a registered client")
	fs.DurationVar(&f.KeepAliveTimeout, "keepalive-timeout", def.KeepAliveTimeout, "how long a client has to echo a keep-alive")
	fs.DurationVar(&f.HandshakeTimeout, "handshake-timeout", def.HandshakeTimeout, "how long a new connection has to give password and ID")
}

// ParseFlags registers the common flags on fs with def's values as their
// defaults, then parses args and reads the password as Parse does. fs may
// hold flags of the caller's own, registered before.
func ParseFlags(fs *flag.FlagSet, args []string, def Flags) (Flags, []byte, error) {
	var f Flags
	f.Register(fs, def)
	password, err := Parse(fs, args)
	return f, password, err
}
