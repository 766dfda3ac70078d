package main

import (
	"context"
	"os"

	"go.uber.org/zap"

	"github.com/cliser/cliser/node"
)

// reloadOnHUP re-reads the passwords (CLISER_PASSWORD and --password-file)
// on every SIGHUP until ctx ends, and swaps them into the running server.
// A file that does not read or parse leaves the current passwords in
// place. It logs how many passwords it loaded, never a password.
func reloadOnHUP(ctx context.Context, hup <-chan os.Signal, file string, n *node.Node, log *zap.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		pw, err := loadPasswords(file, false)
		if err == nil {
			err = n.SetPasswords(pw)
		}
		if err != nil {
			log.Warn("SIGHUP: password reload failed; the current passwords stay in force",
				zap.String("password_file", file), zap.Error(err))
			continue
		}
		log.Info("SIGHUP: passwords reloaded; registered clients stay connected, new handshakes use these",
			zap.Int("passwords", len(pw)), zap.String("password_file", file))
	}
}
