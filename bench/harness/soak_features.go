package harness

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// What the soak's server runs with beyond connections (--features). A
// fleet runs with all of them on, so that is the soak's default; "none"
// is the server of the 2026-11-25 soaks (no event log then, flapping
// control off), the bench's plain `cliser`.
const (
	// FeatureEvents: the event log on, with SoakSettings.EventRetention.
	FeatureEvents = "events"
	// FeatureWebhook: every event POSTed to a receiver in the harness
	// (needs FeatureEvents).
	FeatureWebhook = "webhook"
	// FeatureIdentity: a credential for every client ID, each client
	// answering its own secret; a brand-new id is enrolled through the
	// admin API before it connects and deleted after it left.
	FeatureIdentity = "identity"
	// FeatureFlapping: the server's flapping control at its defaults
	// (IDENTITY.md: 15 registrations of one id within 1m ban it).
	FeatureFlapping = "flapping"
)

// AllSoakFeatures is --features all, in the order reports name them.
var AllSoakFeatures = []string{FeatureEvents, FeatureWebhook, FeatureIdentity, FeatureFlapping}

// IDENTITY.md's flapping defaults, which FeatureFlapping leaves on.
const (
	flapLimit  = 15
	flapWindow = time.Minute
)

// DefaultEventRetention is the soak's --event-retention: small, so that
// a soak of minutes reaches the log's steady state (it prunes as it
// appends) and judges it.
const DefaultEventRetention = 50_000

// ParseSoakFeatures reads --features: "all", "none", or names from
// AllSoakFeatures, comma-separated; the result is in AllSoakFeatures'
// order, empty for none.
func ParseSoakFeatures(v string) ([]string, error) {
	switch strings.TrimSpace(v) {
	case "all":
		return slices.Clone(AllSoakFeatures), nil
	case "none", "":
		return nil, nil
	}
	want := map[string]bool{}
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if !slices.Contains(AllSoakFeatures, f) {
			return nil, fmt.Errorf("--features: unknown feature %q (want all, none, or some of %s)", f, strings.Join(AllSoakFeatures, ","))
		}
		want[f] = true
	}
	if want[FeatureWebhook] && !want[FeatureEvents] {
		return nil, fmt.Errorf("--features: %s needs %s (it delivers the event log)", FeatureWebhook, FeatureEvents)
	}
	var out []string
	for _, f := range AllSoakFeatures {
		if want[f] {
			out = append(out, f)
		}
	}
	return out, nil
}

// has says whether the soak's server runs with feature f.
func (s SoakSettings) has(f string) bool { return slices.Contains(s.Features, f) }

// serverArgs are the flags of `cliser serve` that the soak's settings
// choose: its retentions.
func (s SoakSettings) serverArgs() []string {
	var args []string
	if s.Retention > 0 {
		args = append(args, "--retention", s.Retention.String())
	}
	if !s.has(FeatureEvents) {
		return append(args, eventsOff...)
	}
	return append(args, "--event-retention", fmt.Sprint(s.EventRetention))
}

// RegistrationsPerWindow is how often the churn re-registers one pool id
// within the flapping window (or the whole run, if shorter): reconnects
// and takeovers are two thirds of the operations, spread evenly over the
// pool when flapping control is on (churner.pick).
func (s SoakSettings) RegistrationsPerWindow() float64 {
	if s.Pool <= 0 {
		return 0
	}
	return s.ChurnRate * 2 / 3 * min(flapWindow, s.Duration).Seconds() / float64(s.Pool)
}
