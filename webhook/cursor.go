package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// State is how far the receiver has acknowledged, stored after every
// change so that delivery resumes there after a restart or, in a cluster,
// on the node that takes over.
type State struct {
	// Acked is the seq of the last event the receiver acknowledged (2xx).
	Acked uint64 `json:"acked"`
	// First and Last bound the batch in flight, stored before its first
	// try: after a restart it is sent again as it was, with the same
	// webhook-id. Zero when nothing is in flight.
	First uint64 `json:"first,omitempty"`
	Last  uint64 `json:"last,omitempty"`
	// Made is when the cluster's event stream the seqs count in was
	// made: a stream deleted and made again counts from 1 again, and a
	// cursor of seqs alone can not tell its new seqs from the old ones
	// once the new stream has passed them. Zero on a single node (its
	// file keeps no such thing) and in a cursor of an older build.
	Made time.Time `json:"made,omitzero"`
}

// pending reports whether st holds a batch in flight that directly
// follows what was acknowledged.
func (st State) pending() bool {
	return st.First == st.Acked+1 && st.Last >= st.First
}

// Cursor keeps a webhook's State. Implementations are safe for concurrent
// use; the Deliverer calls them from its own goroutine only.
type Cursor interface {
	// Load returns the stored state; found is false when this webhook
	// never stored one (it is new).
	Load(ctx context.Context) (st State, found bool, err error)
	// Save stores st durably before it returns nil.
	Save(ctx context.Context, st State) error
}

// starter is a Cursor shared by nodes that may fix a new webhook's start
// at once: Create stores st only when no state is stored, and returns the
// state stored (st, created, or the other node's).
type starter interface {
	Create(ctx context.Context, st State) (stored State, created bool, err error)
}

// cursorKey names a webhook's state after its receiver: pointing cliser
// at another receiver is a new webhook, which starts from the newest
// event, not from where the old receiver stopped. A hash keeps a URL's
// secrets out of the store's key listing and fits NATS key syntax.
func cursorKey(url string) string { return "wh_" + cursorHash(url) }

// oldCursorKey is url's key in builds before this one (oldCursorHash).
func oldCursorKey(url string) string { return "wh_" + oldCursorHash(url) }

// cursorHash names url's cursor, in a key or a file name: the URL's
// without its user info, so that a password changed in the URL keeps the
// receiver's cursor (it was a new webhook, and every event the receiver
// had not acknowledged was skipped without a word; events audit). The
// query stays: it may name the receiver (a channel) as well as a token.
func cursorHash(url string) string { return hashOf(withoutUserInfo(url)) }

// oldCursorHash is the name builds before this one gave url's cursor: the
// whole URL's. A cursor found only under it is taken over (once).
func oldCursorHash(url string) string { return hashOf(url) }

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:12])
}

// withoutUserInfo is rawURL with its user info cut out as written, the
// rest byte for byte (a re-encoded URL could hash apart from the same
// receiver's older cursor).
func withoutUserInfo(rawURL string) string {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return rawURL
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndexByte(rest[:end], '@')
	if at < 0 {
		return rawURL
	}
	return scheme + "://" + rest[at+1:]
}

func encodeState(st State) ([]byte, error) { return json.Marshal(st) }

// decodeState parses a stored state, refusing one that is not whole.
func decodeState(b []byte) (State, error) {
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return State{}, fmt.Errorf("webhook: stored cursor: %w", err)
	}
	if st.First > st.Last {
		return State{}, fmt.Errorf("webhook: stored cursor: batch %d-%d ends before it starts", st.First, st.Last)
	}
	return st, nil
}
