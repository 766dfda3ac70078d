package main

import (
	"context"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/webhook"
)

// SIGHUP reloads, by result: counted, not only logged, since `systemctl
// reload` succeeds whatever the files say, and a failed reload leaves the
// old secrets in force while the fleet (or the receiver, or the tools)
// moves on.
const (
	metricPasswordReloads      = "cliser_password_reloads_total"
	metricWebhookSecretReloads = "cliser_webhook_secret_reloads_total"
	metricAdminTokenReloads    = "cliser_admin_token_reloads_total"
)

// Whether the last reload of each worked (1; also before any, the start
// having loaded it) or left the old secrets in force (0): the counters
// cannot say it of the last one, so an alert on them ended while a
// failed reload still held, a revoked token included, and went on after
// a good one.
const (
	metricPasswordReloadOK      = "cliser_password_last_reload_successful"
	metricWebhookSecretReloadOK = "cliser_webhook_secret_last_reload_successful"
	metricAdminTokenReloadOK    = "cliser_admin_token_last_reload_successful"
)

// secretReload is one kind of secret a SIGHUP reads again and swaps in.
type secretReload struct {
	flag    string // its file's flag: "--password-file"
	file    string
	count   string // the log field of how many were loaded: "passwords"
	done    string // the log line of a reload that worked
	failed  string // the log line of one that left what is in force
	swap    func() (int, error)
	reloads *prometheus.CounterVec
	lastOK  prometheus.Gauge // 1 or 0: the last reload's result
}

// reloadOnHUP re-reads, on every SIGHUP until ctx ends, the passwords
// (CLISER_PASSWORD and --password-file), with a webhook its signing
// secrets (CLISER_WEBHOOK_SECRET and --webhook-secret-file), and with
// --admin-token-file the admin API's tokens, and swaps each into the
// running server. What does not read or check out leaves what is in
// force in place. It logs how many it loaded, never a secret. Once
// stopping ends, until served does, a SIGHUP reloads nothing and says so:
// a drain may last --shutdown-timeout, and a reload then must not look
// taken.
func reloadOnHUP(stopping, served context.Context, hup <-chan os.Signal, reloads []*secretReload, log *zap.Logger) {
	for {
		select {
		case <-served.Done():
			return
		case <-hup:
		}
		if stopping.Err() != nil {
			log.Info("SIGHUP while stopping: nothing reloaded")
			continue
		}
		for _, r := range reloads {
			r.run(log)
		}
	}
}

// secretReloads are the reloads cfg and n have, their counters on the
// node's registry.
func secretReloads(cfg *serveConfig, n *node.Node) []*secretReload {
	out := []*secretReload{{
		flag: "--password-file", file: cfg.passwordFile, count: "passwords",
		done:   "SIGHUP: passwords reloaded; registered clients stay connected, new handshakes use these",
		failed: "SIGHUP: password reload failed; the current passwords stay in force",
		// Under --require-credentials (loadPasswords' optional) a reload
		// may leave no shared password, as the start may: the last step
		// of moving a fleet to credentials.
		swap: func() (int, error) {
			pw, err := loadPasswords(cfg.passwordFile, cfg.identity.requireCredentials)
			if err == nil {
				err = n.SetPasswords(pw)
			}
			return len(pw), err
		},
		reloads: reloadCounter(n, metricPasswordReloads, "SIGHUP password reloads by result: ok, or failed (the passwords in force stay)."),
		lastOK:  reloadGauge(n, metricPasswordReloadOK, "1 when the last SIGHUP password reload worked (or none was asked), 0 when it failed and the old passwords stay in force."),
	}}
	if d := n.Webhook(); d != nil {
		// A receiver's rotation (add its new secret, switch, drop the
		// old one) needs no restart, which would have every client
		// reconnect.
		out = append(out, &secretReload{
			flag: "--webhook-secret-file", file: cfg.webhook.secretFile, count: "secrets",
			done:   "SIGHUP: webhook secrets reloaded; the next request is signed with these",
			failed: "SIGHUP: webhook secret reload failed; the current secrets stay in force",
			swap: func() (int, error) {
				signer, err := webhook.LoadSecrets(cfg.webhook.secretFile) // names a bad secret's position only
				if err != nil {
					return 0, err
				}
				return signer.Len(), d.SetSigner(signer)
			},
			reloads: reloadCounter(n, metricWebhookSecretReloads, "SIGHUP webhook secret reloads by result: ok, or failed (the secrets in force stay)."),
			lastOK:  reloadGauge(n, metricWebhookSecretReloadOK, "1 when the last SIGHUP webhook secret reload worked (or none was asked), 0 when it failed and the old secrets still sign."),
		})
	}
	if cfg.adminTokenFile != "" {
		out = append(out, &secretReload{
			flag: "--admin-token-file", file: cfg.adminTokenFile, count: "tokens",
			done:   "SIGHUP: admin tokens reloaded; a request with a token no longer listed gets 401",
			failed: "SIGHUP: admin token reload failed; the current tokens stay in force",
			swap: func() (int, error) {
				list, err := loadAdminTokens(cfg.adminTokenFile)
				if err == nil {
					err = cfg.adminTokens.Set(list)
				}
				return len(list), err
			},
			reloads: reloadCounter(n, metricAdminTokenReloads, "SIGHUP --admin-token-file reloads by result: ok, or failed (the tokens in force stay)."),
			lastOK:  reloadGauge(n, metricAdminTokenReloadOK, "1 when the last SIGHUP --admin-token-file reload worked (or none was asked), 0 when it failed and the old tokens stay valid."),
		})
	}
	return out
}

// run swaps the secret in, counts how that went and says so.
func (r *secretReload) run(log *zap.Logger) {
	file := zap.Skip() // a secret given in the environment: no file to name
	if r.file != "" {
		file = zap.String(strings.ReplaceAll(strings.TrimPrefix(r.flag, "--"), "-", "_"), r.file)
	}
	n, err := 0, rereadable(r.flag, r.file)
	if err == nil {
		n, err = r.swap()
	}
	if err != nil {
		r.reloads.WithLabelValues("failed").Inc()
		r.lastOK.Set(0)
		log.Warn(r.failed, file, zap.Error(err))
		return
	}
	r.reloads.WithLabelValues("ok").Inc()
	r.lastOK.Set(1)
	warnOpenSecretFile(log, r.flag, r.file)
	log.Info(r.done, zap.Int(r.count, n), file)
}

// reloadGauge is a reload's last result, 1 from the start, on the node's
// registry.
func reloadGauge(n *node.Node, name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	g.Set(1)
	registerOnNode(n, g)
	return g
}

// reloadCounter is a reload counter by result, both results on
// /metrics from the start, on the node's registry.
func reloadCounter(n *node.Node, name, help string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"result"})
	c.WithLabelValues("ok")
	c.WithLabelValues("failed")
	registerOnNode(n, c)
	return c
}

// registerOnNode puts c on the node's /metrics, when it serves one.
func registerOnNode(n *node.Node, c prometheus.Collector) {
	if m := n.Metrics(); m != nil {
		_ = m.Registry().Register(c)
	}
}
