package main

import (
	"context"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cliser/cliser/node"
)

// metricPasswordReloads counts SIGHUP reloads by result.
const metricPasswordReloads = "cliser_password_reloads_total"

// reloadOnHUP re-reads the passwords (CLISER_PASSWORD and --password-file)
// on every SIGHUP until ctx ends, and swaps them into the running server.
// A file that does not read or parse leaves the current passwords in
// place. It logs how many passwords it loaded, never a password.
// noneOK (--require-credentials) lets a reload leave no shared password,
// as the start may: the last step of moving a fleet to credentials.
func reloadOnHUP(ctx context.Context, hup <-chan os.Signal, file string, noneOK bool, n *node.Node, log *zap.Logger) {
	// Counted, not only logged: `systemctl reload` succeeds whatever the
	// file says, and a failed reload leaves the old passwords in force
	// while the fleet moves to the new one.
	reloads := prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricPasswordReloads,
		Help: "SIGHUP password reloads by result: ok, or failed (the passwords in force stay)."}, []string{"result"})
	ok, failed := reloads.WithLabelValues("ok"), reloads.WithLabelValues("failed")
	if m := n.Metrics(); m != nil {
		_ = m.Registry().Register(reloads)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		pw, err := loadPasswords(file, noneOK)
		if err == nil {
			err = n.SetPasswords(pw)
		}
		if err != nil {
			failed.Inc()
			log.Warn("SIGHUP: password reload failed; the current passwords stay in force",
				zap.String("password_file", file), zap.Error(err))
			continue
		}
		ok.Inc()
		warnOpenSecretFile(log, "--password-file", file)
		log.Info("SIGHUP: passwords reloaded; registered clients stay connected, new handshakes use these",
			zap.Int("passwords", len(pw)), zap.String("password_file", file))
	}
}
