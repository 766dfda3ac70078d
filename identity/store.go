package identity

import (
	"context"
	"time"
)

// Credential binds a secret to one client ID. Only SHA-256 digests are kept.
type Credential struct {
	CID                string
	Digest             [32]byte // SHA-256 of the current secret
	CreatedAt          time.Time
	Previous           *[32]byte  // digest of the previous secret while a grace period runs
	PreviousValidUntil *time.Time // end of that grace period
}

// Ban keeps a client ID, an IP address or a network out.
type Ban struct {
	Kind   string // "cid", "ip" or "net"
	Value  string // the cid, the IP, or the CIDR (canonical form)
	Reason string
	By     string // "operator" or "flapping"
	At     time.Time
	Until  *time.Time // nil: until lifted
}

// BanKey names one ban.
type BanKey struct{ Kind, Value string }

// Change is one write seen through Store.Watch (exactly one field is set).
type Change struct {
	Credential        *Credential
	CredentialDeleted string
	Ban               *Ban
	BanDeleted        *BanKey
}

// Store persists credentials and bans. bbolt in the data dir (single node),
// JetStream key-value buckets (cluster mode, implemented in cluster/).
// Safe for concurrent use.
type Store interface {
	Load(ctx context.Context) ([]Credential, []Ban, error)
	// Credential is cid's stored credential; false when it has none.
	Credential(ctx context.Context, cid string) (Credential, bool, error)
	PutCredential(ctx context.Context, c Credential) error
	DeleteCredential(ctx context.Context, cid string) error
	PutBan(ctx context.Context, b Ban) error
	DeleteBan(ctx context.Context, k BanKey) error
	// ExpireBan deletes b, a ban that has ended, only while the store
	// holds b itself at its key: not a newer ban of that key (a ban made
	// again outlives the old one's expiry), not nothing. won is whether
	// this call deleted it: of the nodes that expire b, one wins, and it
	// alone reports the expiry. After an error the caller tries again;
	// a store whose earlier try landed though its answer was lost says
	// won then.
	ExpireBan(ctx context.Context, b Ban) (won bool, err error)
	// Watch calls apply for every change written by any node (its own
	// included; apply must be idempotent) until ctx ends. A single-node
	// store returns nil at once.
	Watch(ctx context.Context, apply func(Change)) error
	Close() error
}

// Reporter is a Store that orders the closes a change causes on the other
// nodes after the change's event (EVENTS.md: one client ID's events in the
// order they happened). The node that made a credential's delete or a ban
// reports it once its event is emitted; the others close what the change
// closes only when that report (or a bound of time) has come. Without one
// (a single node) the closes are at once. Safe for concurrent use.
type Reporter interface {
	// Reported: this node emitted the event of its change of k. It never
	// waits: the report goes once the event is in the log.
	Reported(k ChangeKey)
	// AfterReported runs close once the node that changed k reported it,
	// or after a bound; at once if that report came a moment ago.
	AfterReported(k ChangeKey, close func())
}

// SelfApplier is a Store that hands each of its own writes to Watch's
// apply itself before the write returns, in the one order it applies
// every writer's changes in (cluster mode: the bucket's revisions). The
// Service then leaves its memory to that instead of setting it after
// the write returned: another node's newer write of the same key may
// have reached it first, through its watch or a notice, and the late set
// undid it on this node alone. Two operators enrolling one client ID at
// once through two nodes left each node admitting the secret of the
// write it made itself or of the other, for good; a ban made through one
// node as another lifted it stayed on the first. Its own writes reach
// memory once Watch has taken apply: OwnWritesApplied is closed then, and
// Start waits for it, or a write made just after Start went to memory
// only when the watch brought it back (a delete right after an enrolment
// found nothing, once, in CI). Safe for concurrent use.
type SelfApplier interface {
	AppliesOwnWrites() bool
	OwnWritesApplied() <-chan struct{}
}

// ChangeKey names what a change changed: a credential (Credential true,
// its client ID in Ban.Value) or a ban (Ban).
type ChangeKey struct {
	Credential bool
	Ban        BanKey
}

// EachLoader is a Store that can hand its credentials over one at a time,
// so that a Load of tens of thousands never holds them all as Credentials
// at once (the garbage would run the GC over megabytes whose pages and
// metadata the runtime keeps). Service.Start uses it when the Store has
// it. Safe for concurrent use.
type EachLoader interface {
	// LoadEach calls cred for every credential and returns every ban, in
	// one consistent read; it stops at cred's first error and returns it.
	LoadEach(ctx context.Context, cred func(Credential) error) ([]Ban, error)
}
