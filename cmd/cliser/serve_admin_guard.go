package main

import (
	"strings"

	"github.com/spf13/pflag"

	"github.com/cliser/cliser/admin"
)

// addAdminGuardFlags adds the admin API's Host allow-list (admin/guard.go):
// a request naming another host name is refused, as DNS rebinding would.
func addAdminGuardFlags(f *pflag.FlagSet, cfg *serveConfig) {
	f.StringVar(&cfg.adminHosts, "admin-allowed-hosts", "",
		"host names (comma-separated, besides localhost) the admin API answers to; IP addresses always pass")
}

// allowedHosts splits --admin-allowed-hosts, or says what to fix.
func allowedHosts(list string) ([]string, error) {
	var out []string
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if strings.ContainsAny(n, ":/ *@[]") {
			return nil, configErrorf("--admin-allowed-hosts: %q is not a host name; give names only, "+
				"without scheme or port (--admin-allowed-hosts cliser.example.net,ops-box)", n)
		}
		out = append(out, n)
	}
	return out, nil
}

// adminGuardOptions are the admin options of the guard flags; the
// wrong-token limit counts an IPv6 client by the protocol side's prefix.
func (cfg *serveConfig) adminGuardOptions() []admin.Option {
	names, _ := allowedHosts(cfg.adminHosts) // validate checked it
	return []admin.Option{admin.WithAllowedHosts(names...), admin.WithIPv6GuardPrefix(cfg.ipv6GuardPrefix)}
}
