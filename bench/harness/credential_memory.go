package harness

import (
	"context"
	"fmt"
	"math"

	"github.com/cliser/cliser/admin"
)

// CredentialMemory is what cliser+identity+events' credentials cost in
// RSS per enrolled client ID, measured two ways. They are held from the
// start, so the RSS slope between plateaus leaves them out, and the
// target "RSS per idle client, its credential included" adds them.
type CredentialMemory struct {
	// Resident is the process's own count per ID: its
	// cliser_credentials_resident_bytes at the top plateau, the table's
	// pages in memory. Complete (each credential loaded adds this to
	// the process's RSS, identity/boltstore's
	// TestCredentialBytesIsTheLoadsRSS) and precise (one process, no
	// start-up beside it): what is judged. NaN: not read.
	Resident float64
	// StartDiff is the start RSS above the same server's without
	// credentials, per ID: two processes' start-ups, swinging 7-62 B
	// between runs where the table holds ~37 B (session 17). Shown
	// beside, judged only when Resident was not read (a cliser before
	// the gauge). NaN: no reference ran.
	StartDiff float64
}

// NewCredentialMemory is the credentials' memory per ID from a run's
// figures: the gauge (0: not read), its start RSS and the reference's.
func NewCredentialMemory(credentials int, resident, startRSS, refStartRSS int64) CredentialMemory {
	m := CredentialMemory{Resident: math.NaN(), StartDiff: math.NaN()}
	if credentials <= 0 {
		return m
	}
	if resident > 0 {
		m.Resident = float64(resident) / float64(credentials)
	}
	if startRSS > 0 && refStartRSS > 0 {
		m.StartDiff = float64(startRSS-refStartRSS) / float64(credentials)
	}
	return m
}

// Judged is the figure the target is judged on and how it was measured:
// the process's own count when it was read, else the start RSSes'
// difference; NaN when neither was measured.
func (m CredentialMemory) Judged() (perID float64, how string) {
	if !math.IsNaN(m.Resident) {
		return m.Resident, "the process's own count: its credential table's resident bytes at the plateau"
	}
	return m.StartDiff, "the start RSS above cliser+events' (no resident-bytes gauge)"
}

// String gives both measures, the judged one first.
func (m CredentialMemory) String() string {
	perID, how := m.Judged()
	s := fmt.Sprintf("%.0f B a credential, %s", perID, how)
	if !math.IsNaN(m.Resident) {
		s += fmt.Sprintf("; the start RSS above cliser+events', per ID, %s (two processes' start-ups: not judged)", num(m.StartDiff, "B"))
	}
	return s
}

// noteCredentialBytes reads cliser+identity+events' credential table's
// resident bytes at the top plateau; a failed read is a problem, and the
// report then judges the start RSSes' difference and says so.
func (r *runner) noteCredentialBytes(ctx context.Context) {
	if r.kind != KindCliserTrust {
		return
	}
	v, err := scrapeGauges(ctx, goMetricsOf(r.srv), admin.MetricCredentialsResident)
	switch {
	case err != nil:
		r.problem("the credentials' resident bytes: %v", err)
	case math.IsNaN(v[0]) || v[0] <= 0:
		r.problem("the credentials' resident bytes: %s is %v", admin.MetricCredentialsResident, v[0])
	default:
		r.res.CredentialBytes = int64(v[0])
	}
}
