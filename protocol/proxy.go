package protocol

// ProxyRefusal says why a connection's PROXY header (which comes before
// the protocol's first line), or its lack, was refused. It lives with the
// codec's other verdicts so that the reactor that refuses and the metrics
// that count need not import each other.
type ProxyRefusal uint8

const (
	// ProxyUntrusted: the connection came from outside --proxy-trusted.
	ProxyUntrusted ProxyRefusal = iota + 1
	// ProxyBadHeader: a required header was missing or malformed.
	ProxyBadHeader
)

// String is the refusal as a metric label.
func (r ProxyRefusal) String() string {
	switch r {
	case ProxyUntrusted:
		return "untrusted sender"
	case ProxyBadHeader:
		return "missing or malformed header"
	}
	return "unknown"
}
