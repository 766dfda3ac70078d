package protocol

import "sync"

// A close reason this build does not know comes from a newer version: a
// record another node wrote to the cluster's bucket during a rolling
// upgrade, or a data file a newer build left behind. It is kept as its
// text: each distinct text gets a Reason value above the known ones for the
// life of the process, so the registry, the cluster mirror, the admin API
// and both stores carry it like any other reason and print its text
// unchanged. Reasons are stored and sent only as text, never as numbers,
// so these values need not agree between processes. ParseReason, which
// reads the wire, stays strict: a client still learns only the reasons it
// knows.

// MaxFutureReason is the longest reason text kept from a newer version.
const MaxFutureReason = 64

// maxFutureReasons is how many distinct unknown texts fit the uint8 enum.
const maxFutureReasons = 256 - int(reasonCount)

var future struct {
	mu     sync.RWMutex
	byText map[string]Reason
	text   []string // text[r-reasonCount]
}

// futureReason is the Reason that stands for text, a reason this build
// does not know. ok is false when text can not be a reason's text (empty,
// over MaxFutureReason bytes, or not printable ASCII) or when the enum has
// no room left. Safe from any goroutine.
func futureReason(text string) (r Reason, ok bool) {
	if !isReasonText(text) {
		return ReasonNone, false
	}
	future.mu.RLock()
	r, ok = future.byText[text]
	future.mu.RUnlock()
	if ok {
		return r, true
	}
	future.mu.Lock()
	defer future.mu.Unlock()
	if r, ok = future.byText[text]; ok {
		return r, true
	}
	if len(future.text) == maxFutureReasons {
		return ReasonNone, false
	}
	if future.byText == nil {
		future.byText = make(map[string]Reason)
	}
	r = reasonCount + Reason(len(future.text))
	future.text = append(future.text, text)
	future.byText[text] = r
	return r, true
}

// futureText is the text of a reason futureReason gave out.
func futureText(r Reason) (string, bool) {
	future.mu.RLock()
	defer future.mu.RUnlock()
	i := int(r) - int(reasonCount)
	if i < 0 || i >= len(future.text) {
		return "", false
	}
	return future.text[i], true
}

// isReasonText: what a newer version's reason could be. The known texts
// are lower-case words; this allows any printable ASCII, so a label or a
// log field never carries a control byte.
func isReasonText(s string) bool {
	if s == "" || len(s) > MaxFutureReason {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Known reports whether r is one of this build's reasons (ReasonNone
// included), not a newer version's kept as text.
func (r Reason) Known() bool { return r < reasonCount }
