package identity

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/cliser/cliser/protocol"
)

// Ban kinds and who made a ban, as IDENTITY.md spells them.
const (
	KindCID = "cid"
	KindIP  = "ip"
	KindNet = "net"

	ByOperator = "operator"
	ByFlapping = "flapping"
)

// MaxBanReason bounds a ban's reason text.
const MaxBanReason = 256

// Kinds lists the ban kinds, for metrics that want every label present.
func Kinds() []string { return []string{KindCID, KindIP, KindNet} }

// ParseBanValue checks value for kind and returns its canonical form: the
// client ID as given, the IP without zone and with IPv4-mapped IPv6 unmapped,
// the CIDR masked to its network ("10.1.2.3/16" is "10.1.0.0/16"). The
// error wraps ErrBadBan and says what is accepted.
func ParseBanValue(kind, value string) (string, error) {
	switch kind {
	case KindCID:
		if protocol.ValidateClientID([]byte(value)) != nil {
			return "", fmt.Errorf("%w: client id %q: 1 to %d bytes of letters, digits and . _ : @ -", ErrBadBan, value, protocol.MaxClientID)
		}
		return value, nil
	case KindIP:
		a, err := netip.ParseAddr(value)
		if err != nil || a.Zone() != "" {
			return "", fmt.Errorf("%w: ip %q: want an IPv4 or IPv6 address like 203.0.113.9", ErrBadBan, value)
		}
		return a.Unmap().String(), nil
	case KindNet:
		p, err := netip.ParsePrefix(value)
		if err != nil {
			return "", fmt.Errorf("%w: net %q: want a CIDR like 10.1.0.0/16", ErrBadBan, value)
		}
		return canonicalPrefix(p).String(), nil
	}
	return "", fmt.Errorf("%w: kind %q: want cid, ip or net", ErrBadBan, kind)
}

// BanProblem is what a bad-ban error asks the operator to fix: its text
// without the package's "identity: bad ban: " prefix, as an API answer or
// a CLI message shows it.
func BanProblem(err error) string { return strings.TrimPrefix(err.Error(), ErrBadBan.Error()+": ") }

// canonicalPrefix masks p, and writes an IPv4-mapped IPv6 network as IPv4
// so that it matches the unmapped client addresses.
func canonicalPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked()
}

// ParseBanDuration reads a ban's optional duration: "" is until lifted (0),
// otherwise a positive Go duration such as "1h" or "90m".
func ParseBanDuration(s string) (time.Duration, error) {
	if strings.TrimSpace(s) == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%w: duration %q: want a duration like 1h or 30m, at most 2562047h, or none for until lifted", ErrBadBan, s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%w: duration %q: want a positive duration like 1h or 30m, or none for until lifted", ErrBadBan, s)
	}
	return d, nil
}

// active reports whether b still holds at now.
func (b *Ban) active(now time.Time) bool { return b.Until == nil || now.Before(*b.Until) }

// Same reports whether b and o are one ban: the same key, reason, maker,
// start and end (a ban made again of the same key is another).
func (b Ban) Same(o Ban) bool { return b.Key() == o.Key() && sameBan(&b, &o) }

// Key names b.
func (b *Ban) Key() BanKey { return BanKey{Kind: b.Kind, Value: b.Value} }

// String is "kind/value", the order bans are listed in.
func (k BanKey) String() string { return k.Kind + "/" + k.Value }

// ParseBanKey reads "kind/value" back (the value of a net ban holds a slash).
func ParseBanKey(s string) (BanKey, bool) {
	kind, value, ok := strings.Cut(s, "/")
	if !ok {
		return BanKey{}, false
	}
	v, err := ParseBanValue(kind, value)
	if err != nil || v != value {
		return BanKey{}, false
	}
	return BanKey{Kind: kind, Value: value}, true
}
