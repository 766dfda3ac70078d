package main

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/cliser/cliser/identity"
)

// identityConfig is the fleet identity settings of `cliser serve`
// (IDENTITY.md).
type identityConfig struct {
	requireCredentials bool
	flapLimit          int
	flapWindow         time.Duration
	flapBan            time.Duration
}

func (c *identityConfig) addFlags(f *pflag.FlagSet) {
	f.BoolVar(&c.requireCredentials, "require-credentials", false, "refuse client IDs without a credential of their own (the server may then run with no shared password)")
	decimalVar(f, &c.flapLimit, "flap-limit", identity.DefaultFlapLimit, "registrations of one client ID within --flap-window that ban it for --flap-ban; 0 disables")
	f.DurationVar(&c.flapWindow, "flap-window", identity.DefaultFlapWindow, "the window of --flap-limit")
	f.DurationVar(&c.flapBan, "flap-ban", identity.DefaultFlapBan, "how long a flapping client ID is refused new registrations")
}

func (c *identityConfig) validate() error {
	switch {
	case c.flapLimit < 0:
		return configErrorf("--flap-limit must not be negative, got %d", c.flapLimit)
	case c.flapLimit > 0 && c.flapWindow <= 0:
		return configErrorf("--flap-window must be positive, got %s", c.flapWindow)
	case c.flapLimit > 0 && c.flapBan <= 0:
		return configErrorf("--flap-ban must be positive, got %s", c.flapBan)
	}
	return nil
}

// options are the identity settings as the node's.
func (c *identityConfig) options() []identity.Option {
	return []identity.Option{
		identity.WithRequireCredentials(c.requireCredentials),
		identity.WithFlapping(c.flapLimit, c.flapWindow, c.flapBan),
	}
}
