package cluster

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/cliser/cliser/identity"
)

// Reports: the order of a change's event and the closes it causes on
// other nodes. The node that deletes a credential or makes a ban reports
// its event (credential.deleted, ban.created); every node closes the
// sessions the change ends, and each close publishes a
// client.disconnected. On the node that made the change the close comes
// after the report (identity's own.go); another node hears of the change
// by its notice or its watch, as soon as it is stored and before its
// event is. So another node holds the change at once (no new session
// gets in) but closes only when the node that made it says its event is
// in the log: a core NATS message, after the event writer's Stored
// (SetEventBarrier), or at once while its log fails. A report that never
// comes (that node died, or is an older build) or comes late (its log is
// slow) is waited for reportWait at most: IDENTITY.md gives a change 2 s
// to hold on every node, and enforcing it comes before its order.

// reportWait bounds how long a node waits for the report of another
// node's change before it closes what the change closes anyway.
const reportWait = 500 * time.Millisecond

// Results of a wait, cliser_cluster_identity_report_waits_total's labels.
const reportCame, reportLate = "reported", "late"

// reportSubject is where the reports of bucket's changes go: a token
// more, the key, is the subject's last.
func (s *IdentityStore) reportSubject(bucket string) string {
	return s.prefix + ".identity-reported." + bucket
}

// storeKey is k's bucket and key.
func storeKey(k identity.ChangeKey) (bucket, key string) {
	if k.Credential {
		return CredentialsBucket, keyOf(k.Ban.Value)
	}
	return BansBucket, banKey(k.Ban)
}

// Reported publishes, once this node's events so far are in the log, that
// its change of k is reported. It returns at once (identity.Reporter).
func (s *IdentityStore) Reported(k identity.ChangeKey) {
	bucket, key := storeKey(k)
	go func() {
		if stored := s.barrier.Load(); stored != nil {
			ctx, cancel := context.WithTimeout(context.Background(), reportWait)
			err := (*stored)(ctx)
			cancel()
			if err != nil {
				s.log.Debug("cluster: reporting a change before its event is in the log", zap.Error(err))
			}
		}
		if err := s.nc.Publish(s.reportSubject(bucket)+"."+key, nil); err != nil {
			s.log.Debug("cluster: change not reported; the other nodes close after their wait", zap.Error(err))
		}
	}()
}

// AfterReported runs close once k's change is reported, or after
// reportWait (identity.Reporter).
func (s *IdentityStore) AfterReported(k identity.ChangeKey, close func()) {
	bucket, key := storeKey(k)
	s.reports.after(bucket+"."+key, close, func(result string) { s.reportWaits.WithLabelValues(result).Inc() })
}

// hearReports subscribes to the reports of both buckets until the
// returned subscription is unsubscribed.
func (s *IdentityStore) hearReports() (*nats.Subscription, error) {
	base := s.prefix + ".identity-reported."
	return s.nc.Subscribe(base+">", func(m *nats.Msg) {
		s.reports.reported(strings.TrimPrefix(m.Subject, base))
	})
}

// reports are the closes waiting for the reports of their changes, and
// the reports of a moment ago, by bucket and key.
type reports struct {
	mu      sync.Mutex
	pending map[string]*waitingCloses
	recent  map[string]time.Time // when each key's last report came
}

// waitingCloses are the closes of one key until its report or its bound.
type waitingCloses struct {
	closes []func()
	timer  *time.Timer
	count  func(result string)
}

// after runs close once key is reported, or after reportWait; at once if
// key was reported under reportWait ago (its change came after its
// report: a notice lost, a watch late). count gets the result.
func (r *reports) after(key string, close func(), count func(result string)) {
	r.mu.Lock()
	if at, ok := r.recent[key]; ok && time.Since(at) < reportWait {
		r.mu.Unlock()
		count(reportCame)
		close()
		return
	}
	if r.pending == nil {
		r.pending = map[string]*waitingCloses{}
	}
	w := r.pending[key]
	if w == nil {
		w = &waitingCloses{count: count}
		w.timer = time.AfterFunc(reportWait, func() { r.release(key, w, reportLate) })
		r.pending[key] = w
	}
	w.closes = append(w.closes, close)
	r.mu.Unlock()
}

// reported runs what waits for key's report and remembers it a while.
func (r *reports) reported(key string) {
	r.mu.Lock()
	now := time.Now()
	if r.recent == nil {
		r.recent = map[string]time.Time{}
	}
	for k, at := range r.recent {
		if now.Sub(at) >= reportWait {
			delete(r.recent, k)
		}
	}
	r.recent[key] = now
	w := r.pending[key]
	r.mu.Unlock()
	if w != nil {
		r.release(key, w, reportCame)
	}
}

// release runs w's closes, unless they ran already.
func (r *reports) release(key string, w *waitingCloses, result string) {
	r.mu.Lock()
	if r.pending[key] != w {
		r.mu.Unlock()
		return
	}
	delete(r.pending, key)
	w.timer.Stop()
	r.mu.Unlock()
	w.count(result)
	for _, close := range w.closes {
		close()
	}
}
