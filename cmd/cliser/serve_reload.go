package main

import (
	"context"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/webhook"
)

// SIGHUP reloads, by result: counted, not only logged, since `systemctl
// reload` succeeds whatever the files say, and a failed reload leaves the
// old secrets in force while the fleet (or the receiver) moves on.
const (
	metricPasswordReloads      = "cliser_password_reloads_total"
	metricWebhookSecretReloads = "cliser_webhook_secret_reloads_total"
)

// reloadOnHUP re-reads, on every SIGHUP until ctx ends, the passwords
// (CLISER_PASSWORD and --password-file) and, with a webhook, its signing
// secrets (CLISER_WEBHOOK_SECRET and --webhook-secret-file), and swaps
// them into the running server. What does not read or parse leaves what
// is in force in place. It logs how many it loaded, never a secret.
func reloadOnHUP(ctx context.Context, hup <-chan os.Signal, cfg *serveConfig, n *node.Node, log *zap.Logger) {
	passwords := reloadCounter(n, metricPasswordReloads,
		"SIGHUP password reloads by result: ok, or failed (the passwords in force stay).")
	var secrets *prometheus.CounterVec
	if n.Webhook() != nil {
		secrets = reloadCounter(n, metricWebhookSecretReloads,
			"SIGHUP webhook secret reloads by result: ok, or failed (the secrets in force stay).")
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		reloadPasswords(cfg.passwordFile, cfg.identity.requireCredentials, n, passwords, log)
		if secrets != nil {
			reloadWebhookSecrets(cfg.webhook.secretFile, n.Webhook(), secrets, log)
		}
	}
}

// reloadCounter is a reload counter by result, on the node's registry.
func reloadCounter(n *node.Node, name, help string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"result"})
	c.WithLabelValues("ok")
	c.WithLabelValues("failed")
	if m := n.Metrics(); m != nil {
		_ = m.Registry().Register(c)
	}
	return c
}

// reloadPasswords swaps in the passwords of file and CLISER_PASSWORD.
// noneOK (--require-credentials) lets a reload leave no shared password,
// as the start may: the last step of moving a fleet to credentials.
func reloadPasswords(file string, noneOK bool, n *node.Node, reloads *prometheus.CounterVec, log *zap.Logger) {
	pw, err := loadPasswords(file, noneOK)
	if err == nil {
		err = n.SetPasswords(pw)
	}
	if err != nil {
		reloads.WithLabelValues("failed").Inc()
		log.Warn("SIGHUP: password reload failed; the current passwords stay in force",
			zap.String("password_file", file), zap.Error(err))
		return
	}
	reloads.WithLabelValues("ok").Inc()
	warnOpenSecretFile(log, "--password-file", file)
	log.Info("SIGHUP: passwords reloaded; registered clients stay connected, new handshakes use these",
		zap.Int("passwords", len(pw)), zap.String("password_file", file))
}

// reloadWebhookSecrets swaps in the signing secrets of file and
// CLISER_WEBHOOK_SECRET: a receiver's rotation (add its new secret, switch
// the receiver, drop the old one) needs no restart, which would have every
// client reconnect.
func reloadWebhookSecrets(file string, d *webhook.Deliverer, reloads *prometheus.CounterVec, log *zap.Logger) {
	signer, err := webhook.LoadSecrets(file)
	if err == nil {
		err = d.SetSigner(signer)
	}
	if err != nil { // it names a bad secret's position, never its text
		reloads.WithLabelValues("failed").Inc()
		log.Warn("SIGHUP: webhook secret reload failed; the current secrets stay in force",
			zap.String("webhook_secret_file", file), zap.Error(err))
		return
	}
	reloads.WithLabelValues("ok").Inc()
	warnOpenSecretFile(log, "--webhook-secret-file", file)
	log.Info("SIGHUP: webhook secrets reloaded; the next request is signed with these",
		zap.Int("secrets", signer.Len()), zap.String("webhook_secret_file", file))
}
