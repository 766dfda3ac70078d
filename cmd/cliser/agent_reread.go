package main

import (
	"context"
	"crypto/tls"
	"os"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/cliser/cliser/client"
)

// A device's secret is rotated by writing its new one into the agent's
// --password-file (docs/identity.md), a renewed CA bundle into its
// --tls-ca, a renewed client certificate into its --tls-cert and
// --tls-key (docs/tls.md): the agent reads them again before every
// attempt, and SIGHUP makes a waiting agent try at once.

// rereadPassword reads file again for each attempt; nil when the
// password comes from CLISER_PASSWORD, which a running process cannot
// see change.
func rereadPassword(file string) func() (string, error) {
	if file == "" {
		return nil
	}
	return func() (string, error) {
		if err := rereadable("--password-file", file); err != nil {
			return "", err
		}
		return agentPassword(file)
	}
}

// reread builds the TLS config again for each attempt, the --tls-ca
// bundle and the --tls-cert and --tls-key read anew; nil without a file
// (the system roots are read once, by Go, for the process).
func (a agentTLS) reread(server string) func() (*tls.Config, error) {
	if a.caFile == "" && a.certFile == "" {
		return nil
	}
	return func() (*tls.Config, error) {
		for _, f := range [][2]string{{"--tls-ca", a.caFile}, {"--tls-cert", a.certFile}, {"--tls-key", a.keyFile}} {
			if err := rereadable(f[0], f[1]); err != nil {
				return nil, err
			}
		}
		return a.config(server, false)
	}
}

// tryOnHUP turns each SIGHUP into a try at once (client.Config.TryNow)
// and says what it does: nothing to a session that is up, which keeps
// the password it registered with.
func tryOnHUP(ctx context.Context, hup <-chan os.Signal, up *atomic.Bool, cc *client.Config, log *zap.Logger) <-chan struct{} {
	now := make(chan struct{}, 1)
	source := zap.String("source", cc.PasswordSource)
	upMsg := "SIGHUP: the session is up and stays; the file is read again before the next attempt"
	tryMsg := "SIGHUP: trying again now"
	if cc.ReadPassword == nil {
		upMsg = "SIGHUP: the session is up and stays (CLISER_PASSWORD is not read again; restart the agent to change it)"
		tryMsg = "SIGHUP: trying again now, with the same password (CLISER_PASSWORD is not read again; restart the agent to change it)"
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			if up.Load() {
				log.Info(upMsg, source)
				continue
			}
			log.Info(tryMsg, source)
			select {
			case now <- struct{}{}:
			default: // one is pending already
			}
		}
	}()
	return now
}
