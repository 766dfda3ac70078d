package identity

import "errors"

// Sentinel errors of the identity package.
var (
	// ErrNotFound: no such credential or ban.
	ErrNotFound = errors.New("identity: not found")
	// ErrBadBan: a ban's kind, value or duration is malformed; the wrapping
	// error says which and what is accepted.
	ErrBadBan = errors.New("identity: bad ban")
	// ErrBadCID: a client ID breaks the protocol's field rule.
	ErrBadCID = errors.New("identity: bad client id")
	// ErrBadGrace: a grace period is negative.
	ErrBadGrace = errors.New("identity: bad grace period")
	// ErrNotReady: the service is not running (not started, or stopped), so
	// nothing can be written.
	ErrNotReady = errors.New("identity: not loaded yet")
	// ErrStoreRenewed: a Store's Watch found its store made anew (the
	// cluster's buckets gone from NATS and made again): what it held
	// before is gone, and the service takes the new store's state as it
	// is, closing no session for it.
	ErrStoreRenewed = errors.New("identity: the store was made anew")
	// ErrBadValue: a stored credential or ban does not decode (another
	// version, or bytes no Store wrote).
	ErrBadValue = errors.New("identity: not a cliser identity value")
)
