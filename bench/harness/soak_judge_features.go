package harness

import "fmt"

// JudgeSoak is JudgeFlatness and, for the features the soak's server ran
// with, their rules on the same judged samples (after the warm-up):
//   - events: events.db, once the log holds its retention (cliser_events_newest_seq
//     at least --event-retention: it deletes as it appends from then on), grows
//     less than Limits.EventsGrowth from the first quarter of those samples to the
//     last; at least minJudged of them must be at retention.
//   - webhook: its lag's last quarter is less than Limits.LagSlack events above
//     its first, so that the receiver keeps up rather than falls behind.
//   - identity: the credentials held grow by less than Limits.CredentialSlack.
//
// It is a pure function of its inputs.
func JudgeSoak(samples []SoakSample, s SoakSettings) Flatness {
	v := JudgeFlatness(samples, s.Limits)
	if v.Judged < minJudged {
		return v
	}
	judged := samples[len(samples)-v.Judged:]
	lim := s.Limits
	if s.has(FeatureEvents) {
		v.judgeEventsFile(judged, s.EventRetention, lim.EventsGrowth)
	}
	if s.has(FeatureWebhook) {
		v.LagFirst, v.LagLast = quarterMeans(judged, lagOf)
		if v.LagLast-v.LagFirst >= lim.LagSlack {
			v.Reasons = append(v.Reasons, fmt.Sprintf("webhook lag grew by %.0f events (limit %.0f)", v.LagLast-v.LagFirst, lim.LagSlack))
		}
	}
	if s.has(FeatureIdentity) {
		v.CredentialsFirst, v.CredentialsLast = quarterMeans(judged, credsOf)
		if v.CredentialsLast-v.CredentialsFirst >= lim.CredentialSlack {
			v.Reasons = append(v.Reasons, fmt.Sprintf("credentials grew by %.1f (limit %.0f)",
				v.CredentialsLast-v.CredentialsFirst, lim.CredentialSlack))
		}
	}
	v.Flat = len(v.Reasons) == 0
	return v
}

// judgeEventsFile judges events.db over the judged samples taken once
// the log held retention events.
func (v *Flatness) judgeEventsFile(judged []SoakSample, retention int, growth float64) {
	first := len(judged)
	for i, x := range judged {
		if x.EventsNewest >= int64(retention) {
			first = i
			break
		}
	}
	at := judged[first:]
	v.EventsJudged = len(at)
	if len(at) < minJudged {
		v.Reasons = append(v.Reasons, fmt.Sprintf("the event log reached its retention (%d events) in %d judged samples, want at least %d: run longer",
			retention, len(at), minJudged))
		return
	}
	v.EventsFirst, v.EventsLast = quarterMeans(at, eventsOf)
	if v.EventsFirst > 0 && (v.EventsLast-v.EventsFirst)/v.EventsFirst >= growth {
		v.Reasons = append(v.Reasons, fmt.Sprintf("events.db grew %.1f%% at retention (limit %.0f%%)",
			100*(v.EventsLast-v.EventsFirst)/v.EventsFirst, 100*growth))
	}
}

// quarterMeans are the means of f over the first and the last quarter of
// samples (at least minJudged of them).
func quarterMeans(samples []SoakSample, f func(SoakSample) float64) (first, last float64) {
	q := len(samples) / 4
	return meanOf(samples[:q], f), meanOf(samples[len(samples)-q:], f)
}

func eventsOf(s SoakSample) float64 { return float64(s.EventsBytes) }
func lagOf(s SoakSample) float64    { return float64(s.WebhookLag) }
func credsOf(s SoakSample) float64  { return float64(s.Credentials) }
