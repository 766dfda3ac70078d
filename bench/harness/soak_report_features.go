package harness

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The report's parts for a soak with features; a soak without any (the
// committed 2026-11-25 runs) renders as it did.

// featuresMarkdown writes what the server ran with.
func (r *SoakResult) featuresMarkdown(b *bytes.Buffer) {
	s := r.Settings
	if len(s.Features) == 0 {
		return
	}
	var on []string
	for _, f := range s.Features {
		switch f {
		case FeatureEvents:
			on = append(on, fmt.Sprintf("the event log (`--event-retention %d`)", s.EventRetention))
		case FeatureWebhook:
			on = append(on, "a webhook to a receiver in the harness")
		case FeatureIdentity:
			on = append(on, fmt.Sprintf("a credential per client (%d enrolled before the start; each brand-new id enrolled through the admin API, its credential deleted once it left)", r.Enrolled))
		case FeatureFlapping:
			on = append(on, fmt.Sprintf("flapping control at its defaults (%d registrations of one id within %s ban it); the churn takes the pool's ids in turn: %.1f registrations of each within %s",
				flapLimit, flapWindow, s.RegistrationsPerWindow(), min(flapWindow, s.Duration)))
		}
	}
	fmt.Fprintf(b, "Features (`--features %s`): %s.\n\n", strings.Join(s.Features, ","), strings.Join(on, "; "))
}

// featuresRule writes the features' flatness rules (JudgeSoak).
func (r *SoakResult) featuresRule(b *bytes.Buffer) {
	s, lim := r.Settings, r.Settings.Limits
	if s.has(FeatureEvents) {
		fmt.Fprintf(b, "events.db, over the judged samples taken once the log held its %d events (%d samples), grows < %.0f%% from their first quarter to their last. ",
			s.EventRetention, r.Verdict.EventsJudged, 100*lim.EventsGrowth)
	}
	if s.has(FeatureWebhook) {
		fmt.Fprintf(b, "The webhook's lag grows < %.0f events. ", lim.LagSlack)
	}
	if s.has(FeatureIdentity) {
		fmt.Fprintf(b, "The credentials held grow < %.0f. ", lim.CredentialSlack)
	}
	if len(s.Features) > 0 {
		b.WriteString("A ban, an event dropped or a webhook that has not caught up at the end is a problem.\n\n")
	}
}

// featuresRows are the flatness table's rows of the features.
func (r *SoakResult) featuresRows(b *bytes.Buffer) {
	s, v, e := r.Settings, r.Verdict, r.End
	if len(s.Features) == 0 {
		return
	}
	first, last := r.firstQ(), r.lastQ()
	if s.has(FeatureEvents) {
		fmt.Fprintf(b, "| events.db on disk (judged at retention: its quarters) | %s | %s | %s |\n", mibf(v.EventsFirst), mibf(v.EventsLast), mibf(float64(e.EventsBytes)))
		fmt.Fprintf(b, "| events logged (newest seq) | %.0f | %.0f | %d |\n", meanOf(first, newestOf), meanOf(last, newestOf), e.EventsNewest)
	}
	if s.has(FeatureWebhook) {
		fmt.Fprintf(b, "| webhook lag, events (judged) | %.1f | %.1f | %d |\n", v.LagFirst, v.LagLast, e.WebhookLag)
		fmt.Fprintf(b, "| webhook events delivered | %.0f | %.0f | %d |\n", meanOf(first, deliveredOf), meanOf(last, deliveredOf), e.WebhookDelivered)
	}
	if s.has(FeatureIdentity) {
		fmt.Fprintf(b, "| credentials (judged) | %.1f | %.1f | %d |\n", v.CredentialsFirst, v.CredentialsLast, e.Credentials)
	}
	fmt.Fprintf(b, "| bans active / flapping bans so far | %.1f / %.1f | %.1f / %.1f | %d / %d |\n",
		meanOf(first, bansOf), meanOf(first, flapsOf), meanOf(last, bansOf), meanOf(last, flapsOf), e.BansActive, e.FlappingBans)
}

// featuresChurn writes what the receiver took and the busiest pool id.
func (r *SoakResult) featuresChurn(b *bytes.Buffer) {
	if r.Settings.has(FeatureFlapping) {
		fmt.Fprintf(b, "Busiest pool id: %d registrations within %s (the server bans at %d); flapping bans: %d.\n\n",
			r.BusiestID, flapWindow, flapLimit, r.End.FlappingBans)
	}
	if w := r.Webhook; w != nil {
		fmt.Fprintf(b, "Webhook receiver: %d requests, %d events (", w.Requests, sumErrors(w.ByType))
		for i, k := range slices.Sorted(maps.Keys(w.ByType)) {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(b, "%s %d", k, w.ByType[k])
		}
		fmt.Fprintf(b, "), newest seq %d of the log's %d, %d redelivered, %d events dropped.\n\n", w.NewestSeq, r.End.EventsNewest, w.Redelivered, r.End.EventsDropped)
	}
}

// featuresSamples writes every sample's feature figures, folded.
func (r *SoakResult) featuresSamples(b *bytes.Buffer) {
	if len(r.Settings.Features) == 0 {
		return
	}
	b.WriteString("\n<details><summary>samples of the features</summary>\n\n| t (s) | events.db | newest seq | webhook lag | delivered | credentials | bans | flapping bans | dropped |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, x := range r.Samples {
		fmt.Fprintf(b, "| %.0f | %s | %d | %d | %d | %d | %d | %d | %d |\n", x.At, mib(x.EventsBytes), x.EventsNewest, x.WebhookLag,
			x.WebhookDelivered, x.Credentials, x.BansActive, x.FlappingBans, x.EventsDropped)
	}
	b.WriteString("\n</details>\n")
}

func newestOf(s SoakSample) float64    { return float64(s.EventsNewest) }
func deliveredOf(s SoakSample) float64 { return float64(s.WebhookDelivered) }
func bansOf(s SoakSample) float64      { return float64(s.BansActive) }
func flapsOf(s SoakSample) float64     { return float64(s.FlappingBans) }
