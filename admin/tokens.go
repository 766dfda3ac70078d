package admin

import (
	"errors"
	"sync"

	"github.com/cliser/cliser/internal/secretset"
)

// ErrNoToken: a swap to no token at all is refused; it would open an API
// that started with authentication.
var ErrNoToken = errors.New("admin: no token: the admin API keeps the tokens in force rather than open without one")

// Tokens is the set of bearer tokens the admin API accepts, swapped whole
// (SIGHUP) while requests are checked against it: several at once let a
// token be rotated with no moment where neither works. Only their SHA-256
// digests are kept (secretset). Safe from any goroutine.
type Tokens struct {
	set secretset.Set

	mu      sync.Mutex
	changed chan struct{} // closed by the next Set; nil until asked for
}

// NewTokens is the set of list's tokens; with none, the API is open, and
// stays open (Set refuses to change that in either direction).
func NewTokens(list ...string) *Tokens {
	t := &Tokens{}
	t.set.Replace(bytesOf(list))
	return t
}

// Set makes list the accepted tokens from the next request on. An empty
// list is ErrNoToken, as is any list on a set made without tokens: a
// reload neither opens the API nor closes it.
func (t *Tokens) Set(list []string) error {
	if len(list) == 0 || t.Len() == 0 {
		return ErrNoToken
	}
	t.set.Replace(bytesOf(list))
	t.mu.Lock()
	if t.changed != nil {
		close(t.changed)
		t.changed = nil
	}
	t.mu.Unlock()
	return nil
}

// changes is closed by the next Set: a request that outlives its check
// (an event stream) looks at its token again then.
func (t *Tokens) changes() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.changed == nil {
		t.changed = make(chan struct{})
	}
	return t.changed
}

// Len is how many tokens are accepted; 0 for a nil set.
func (t *Tokens) Len() int {
	if t == nil {
		return 0
	}
	return t.set.Len()
}

// match reports whether given is one of the tokens, in constant time:
// neither a token's content, its length nor which one matched shows in
// the time taken.
func (t *Tokens) match(given string) bool { return t.set.Match([]byte(given)) }

func bytesOf(list []string) [][]byte {
	out := make([][]byte, len(list))
	for i, tok := range list {
		out[i] = []byte(tok)
	}
	return out
}
