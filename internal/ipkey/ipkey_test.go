package ipkey

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// What each address counts as: an IPv6 client its network, written as an
// operator reads it, at any prefix; IPv4 and IPv4-mapped ones themselves;
// at 128 each address alone.
func TestAnAddressCountsAsItsIPv6Network(t *testing.T) {
	for _, c := range []struct {
		ip   string
		bits int
		want string
	}{
		{"2001:db8:1:2::a", 64, "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", 64, "2001:db8:1:2::/64"},
		{"2001:DB8:1:2::B", 64, "2001:db8:1:2::/64"}, // one spelling per network
		{"2001:db8:1:3::a", 64, "2001:db8:1:3::/64"},
		{"2001:db8:1:2::a", 48, "2001:db8:1::/48"},
		{"2001:db8:1:2::a", 56, "2001:db8:1::/56"},
		{"2001:db8:1:2ff::a", 56, "2001:db8:1:200::/56"},
		{"2001:db8:1:2::a", 16, "2001::/16"},
		{"2001:db8:1:2::a", 127, "2001:db8:1:2::a/127"},
		{"2001:db8:1:2::b", 127, "2001:db8:1:2::a/127"},
		{"::1", 64, "::/64"},
		{"fe80::1%eth0", 64, "fe80::/64"}, // the zone is the link, not the network
		{"2001:db8:1:2::a", 128, "2001:db8:1:2::a"},
		{"2001:db8:1:2::b", 128, "2001:db8:1:2::b"},
		{"192.0.2.7", 64, "192.0.2.7"},
		{"192.0.2.7", 16, "192.0.2.7"},
		{"::ffff:192.0.2.7", 64, "::ffff:192.0.2.7"},
		{"::ffff:192.0.2.8", 64, "::ffff:192.0.2.8"},
		{"not-an-ip", 64, "not-an-ip"},
		{"not:an:ip", 64, "not:an:ip"},
		{"", 64, ""},
	} {
		assert.Equal(t, c.want, Of(c.ip, c.bits), "%s at /%d", c.ip, c.bits)
	}
}
