package main

import (
	"errors"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/webhook"
)

// webhookConfig is the settings of webhook delivery (EVENTS.md
// "Webhooks"). The signing secrets are not here: they come from
// CLISER_WEBHOOK_SECRET or the secret file, never from a flag.
type webhookConfig struct {
	url        string
	secretFile string
	batch      int
	linger     time.Duration
	tuning     []string        // --webhook-batch, --webhook-linger as given: a mistake without --webhook-url
	signer     *webhook.Signer // loaded by validate
}

func (c *webhookConfig) addFlags(f *pflag.FlagSet) {
	f.StringVar(&c.url, "webhook-url", "", "POST every event of the log to this URL, signed as Standard Webhooks says (secret: CLISER_WEBHOOK_SECRET)")
	f.StringVar(&c.secretFile, "webhook-secret-file", "", "file of webhook signing secrets whsec_<base64>, space- or line-separated (besides CLISER_WEBHOOK_SECRET)")
	decimalVar(f, &c.batch, "webhook-batch", webhook.DefaultBatch, "most events in one webhook request")
	f.DurationVar(&c.linger, "webhook-linger", webhook.DefaultLinger, "longest wait after the oldest event of a webhook batch before it is sent")
}

func (c *webhookConfig) validate(eventsOn bool) error {
	switch {
	case c.url == "" && c.secretFile != "":
		return configErrorf("--webhook-secret-file signs the webhook's requests: it needs --webhook-url")
	case c.url == "" && len(c.tuning) == 1:
		return configErrorf("%s tunes the webhook's requests: it needs --webhook-url; without one it would be ignored, so leave it out", c.tuning[0])
	case c.url == "" && len(c.tuning) > 1:
		return configErrorf("%s tune the webhook's requests: they need --webhook-url; without one they would be ignored, so leave them out",
			strings.Join(c.tuning, " and "))
	case c.url == "":
		return nil
	case !eventsOn:
		return configErrorf("--webhook-url needs the event log: --event-retention must not be 0")
	case c.batch < 1 || c.batch > webhook.MaxBatch:
		return configErrorf("--webhook-batch must be 1..%d, got %d", webhook.MaxBatch, c.batch)
	case c.linger < 0:
		return configErrorf("--webhook-linger must not be negative, got %s", c.linger)
	}
	if err := webhook.CheckURL(c.url); err != nil {
		return configErrorf("--webhook-url: %v", err)
	}
	signer, err := webhook.LoadSecrets(c.secretFile)
	if err != nil { // the error names a bad secret's position, never its text
		return c.secretError(err)
	}
	c.signer = signer
	return nil
}

// secretError says which of the secrets' sources err, LoadSecrets',
// is about. It blamed --webhook-url, and to a --webhook-secret-file
// with no secret in it said to give a --webhook-secret-file.
func (c *webhookConfig) secretError(err error) error {
	env := strings.TrimSpace(os.Getenv(webhook.SecretEnv)) != ""
	switch {
	case c.secretFile == "" && !env:
		return configErrorf("--webhook-url: %v", err)
	case errors.Is(err, webhook.ErrNoSecret):
		return configErrorf("--webhook-secret-file %s holds no secret: put one whsec_<base64> in it (several, space- or line-separated, "+
			"for rotation), or set %s", c.secretFile, webhook.SecretEnv)
	case c.secretFile == "":
		return configErrorf("%s: %v", webhook.SecretEnv, err)
	case !env:
		return configErrorf("--webhook-secret-file %s: %v", c.secretFile, err)
	}
	return configErrorf("%s and --webhook-secret-file %s (its secrets counted after the variable's): %v", webhook.SecretEnv, c.secretFile, err)
}

// warn warns of a log that keeps fewer events than one request carries:
// a burst within the linger, or while a request is out, then falls out of
// the log before it is sent, with the receiver up (counted as dropped, as
// for a receiver away).
func (c *webhookConfig) warn(log *zap.Logger, retention int) {
	if c.url != "" && retention < c.batch {
		log.Warn("--event-retention keeps fewer events than one webhook request carries: events that come in a burst "+
			"fall out of the log before they are sent, even with the receiver up (cliser_webhook_events_dropped_total); "+
			"keep the retention far above the largest burst, as the default does",
			zap.Int("event_retention", retention), zap.Int("webhook_batch", c.batch))
	}
}

// node is the webhook as the node's option.
func (c *webhookConfig) node() node.Webhook {
	return node.Webhook{URL: c.url, Signer: c.signer, Batch: c.batch, Linger: c.linger}
}
