package identity

import (
	"context"
	"net/netip"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Service keeps credentials and bans in memory and answers the event loops
// from there; it writes behind through its Store and applies the Store's
// Watch. Every method is safe for concurrent use. The loop-side methods
// (Deferred, AddrBanned, Admit) take at most a read lock for a map lookup or
// two and hash nothing: the caller hands in the secret's digest.
type Service struct {
	opts options

	ready      atomic.Bool
	watchFault atomic.Pointer[fault] // set while ready is false for a failed watch
	writeFault atomic.Pointer[fault] // set from a failed store write to the next that succeeds
	nCreds     atomic.Int64          // credentials held: any makes the check deferred
	nAddrBans  atomic.Int64          // ip and net bans held: none skips the address check
	nCIDBans   atomic.Int64          // client-ID bans held: none (and no credential) skips Admit's lookups
	nGrace     atomic.Int64          // credentials with a previous digest: none skips their sweep
	flapBans   atomic.Uint64
	storeErrs  atomic.Uint64
	abandoned  atomic.Uint64 // operator writes given up before their turn

	// closings counts the changes held that close live sessions by client
	// ID (an operator's ban, a credential's deletion): see Closings.
	closings atomic.Uint64

	mu    sync.RWMutex
	creds credTable
	bans  map[BanKey]*Ban
	nets  []netBan // the net bans, parsed, for AddrBanned

	flapMu        sync.Mutex
	flaps         map[string]flapCount
	flapsMore     map[string][]int64 // registrations before flapCount.prev in the window, oldest first
	flapPeak      int                // the most counts flaps has held since it was made
	flapsMorePeak int                // likewise flapsMore
	flapEpoch     time.Time          // flapCount's times count from it

	lastFlapPrune time.Time // sweep goroutine only

	ownMu sync.Mutex
	own   map[ownKey]*ownWrite // operators' writes in flight on this node (own.go)
	locks map[ownKey]*keyLock  // operators' changes of one key, one at a time (own.go)

	wq  writeQueue
	exp expiries // ended bans whose deletes are not answered yet (expiry.go)

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type netBan struct {
	p   netip.Prefix
	ban *Ban
}

// New makes a service; Start loads its store and starts its goroutines.
func New(opts ...Option) *Service {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	s := &Service{
		opts:  o,
		creds: newCredTable(0, 0),
		bans:  make(map[BanKey]*Ban),
		flaps: make(map[string]flapCount),

		flapsMore: make(map[string][]int64),
		flapEpoch: time.Now(),
	}
	s.wq.init()
	return s
}

// Start loads every credential and ban from the store (failing if that
// fails), then runs in the background until ctx ends or Close: the write-
// behind queue, the store's Watch, and the sweep of expired bans. Call it
// once, before the reactor accepts clients.
func (s *Service) Start(ctx context.Context) error {
	var ended []Ban
	if st := s.opts.store; st != nil {
		n, expired, err := s.load(ctx, st)
		if err != nil {
			return err
		}
		giveBack(n)
		ended = expired
	}
	s.ready.Store(true)
	s.wq.setOpen(true)
	ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.runWrites(ctx) }()
	go func() { defer s.wg.Done(); s.runSweep(ctx) }()
	if s.opts.store != nil {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.runWatch(ctx) }()
		if err := s.ownWritesApplied(ctx); err != nil {
			// The caller closes the store next: the goroutines end first.
			_ = s.Close()
			return err
		}
	}
	// Bans that ended while the server was stopped: the sweep never held
	// them, so their deletes are queued here, once the queue takes them
	// (before it opens a delete is dropped, and the ban would be found
	// ended again at every start). As for the sweep's, the node whose
	// delete wins reports one: several nodes starting together report it
	// once.
	now := time.Now()
	for _, b := range s.expire(ended, now) {
		s.reportExpired(b, now)
	}
	s.opts.log.Info("identity loaded", zap.Int("credentials", int(s.nCreds.Load())),
		zap.Int("bans", s.banCount()), zap.Bool("require_credentials", s.opts.require))
	return nil
}

// Close stops the background work, after the queued writes are done (each
// within a few seconds). It does not close the store.
func (s *Service) Close() error {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	return nil
}

// Ready reports whether the service enforces every credential and ban it
// knows of: loaded, and (in cluster mode) following the store's changes.
func (s *Service) Ready() bool { return s.ready.Load() }

// RequireCredentials reports whether client IDs without a credential are
// refused.
func (s *Service) RequireCredentials() bool { return s.opts.require }

// load holds everything st has, one credential at a time when st can;
// it is how many credentials, and the bans that had ended (not held).
func (s *Service) load(ctx context.Context, st Store) (int, []Ban, error) {
	el, ok := st.(EachLoader)
	if !ok {
		creds, bans, err := st.Load(ctx)
		if err != nil {
			return 0, nil, err
		}
		return len(creds), s.replace(creds, bans), nil
	}
	t := newCredTable(0, 0)
	bans, err := el.LoadEach(ctx, func(c Credential) error {
		t.put(&c)
		return nil
	})
	if err != nil {
		t.release()
		return 0, nil, err
	}
	t.fit()
	return t.len(), s.replaceTable(t, bans), nil
}

// replace sets the whole state from a Load, less the bans that have
// ended, which it returns for the caller to expire.
func (s *Service) replace(creds []Credential, bans []Ban) []Ban {
	return s.replaceTable(loadCredTable(creds), bans)
}

// replaceTable sets the whole state: creds, and bans less the expired,
// which it returns.
func (s *Service) replaceTable(creds credTable, bans []Ban) []Ban {
	now := time.Now()
	s.mu.Lock()
	old := s.creds
	s.creds = creds
	old.release()
	s.recountCredsLocked()
	s.bans = make(map[BanKey]*Ban, len(bans))
	var expired []Ban
	for i := range bans {
		b := bans[i]
		if !b.active(now) {
			expired = append(expired, b)
			continue
		}
		s.bans[b.Key()] = &b
	}
	s.recountLocked()
	s.mu.Unlock()
	return expired
}

// giveBackAfter is the size of a Load whose garbage is worth a collection
// at once: 1,024 credentials leave ~0.5 MB of it.
const giveBackAfter = 1024

// giveBack returns a big Load's garbage to the OS before any client
// comes. The load decodes every stored value (JSON, a Credential and its
// strings apiece) into memory that is garbage once the table holds it:
// ~250 B a credential that the heap would otherwise keep mapped, unused,
// for as long as the server runs (measured by boltstore's
// TestCredentialMemory). One forced collection at start costs a few
// milliseconds.
func giveBack(loaded int) {
	if loaded >= giveBackAfter {
		debug.FreeOSMemory()
	}
}

// recountLocked refreshes the counters and the net list; s.mu is held.
func (s *Service) recountLocked() {
	s.nets = s.nets[:0]
	n, cids := 0, 0
	for k, b := range s.bans {
		switch k.Kind {
		case KindCID:
			cids++
		case KindIP:
			n++
		case KindNet:
			n++
			if p, err := netip.ParsePrefix(k.Value); err == nil {
				s.nets = append(s.nets, netBan{p: p, ban: b})
			}
		}
	}
	s.nAddrBans.Store(int64(n))
	s.nCIDBans.Store(int64(cids))
}

func (s *Service) banCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.bans)
}

// Counts returns the credentials held and the active bans by kind (for the
// gauges).
func (s *Service) Counts() (credentials int, bans map[string]int) {
	now := time.Now()
	bans = map[string]int{KindCID: 0, KindIP: 0, KindNet: 0}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for k, b := range s.bans {
		if b.active(now) {
			bans[k.Kind]++
		}
	}
	return s.creds.len(), bans
}

// CredentialCount is how many client IDs hold a credential, without
// walking the bans as Counts does (the metric's scrape). Safe for
// concurrent use.
func (s *Service) CredentialCount() int { return int(s.nCreds.Load()) }

// CredentialBytes is what holding the credentials costs in RSS: the
// resident bytes of the table's regions, outside the Go heap. A Load
// leaves nothing of them on the heap (boltstore's TestCredentialMemory,
// which also shows this figure is the process's RSS growth across a
// load); a credential within its grace period keeps its previous digest
// on the heap (~100 B, rotations only), which go_memstats counts.
func (s *Service) CredentialBytes() (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.creds.resident()
}

// FlappingBans is how many flapping bans this node started.
func (s *Service) FlappingBans() uint64 { return s.flapBans.Load() }

// StoreErrors is how many writes behind to the store failed.
func (s *Service) StoreErrors() uint64 { return s.storeErrs.Load() }

// AbandonedWrites is how many operators' writes were not made because
// their request ended while they waited for their turn (a store slower
// than the operator's client). Safe for concurrent use.
func (s *Service) AbandonedWrites() uint64 { return s.abandoned.Load() }

func (s *Service) emit(e Event) { s.opts.onEvent(e) }

// setCredLocked holds c and keeps the counters; s.mu is held.
func (s *Service) setCredLocked(c *Credential) {
	s.creds.put(c)
	s.recountCredsLocked()
}

// deleteCredLocked forgets cid's credential; false when there was none.
// s.mu is held.
func (s *Service) deleteCredLocked(cid string) bool {
	had := s.creds.delete(cid)
	s.recountCredsLocked()
	if had {
		s.closings.Add(1)
	}
	return had
}

func (s *Service) recountCredsLocked() {
	s.nCreds.Store(int64(s.creds.len()))
	s.nGrace.Store(int64(s.creds.graced()))
}
