package testkit

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// netnsEnv names, in the child's environment, the test it runs in the
// private namespace.
const netnsEnv = "CLISER_TEST_NETNS"

// netnsReady is what the child's shell prints once the addresses are up:
// without it, the namespace could not be made and the test is skipped.
const netnsReady = "cliser-netns-ready"

// InNetns runs the calling test again, as a child process, in a private
// network namespace (unshare -rn) whose loopback also holds prefixes
// ("2001:db8:1:2::a/64": that address, bound by a client as its source),
// and reports whether this is that run: the test does its work when
// true and returns at once when false. In the parent it waits for the
// child and fails t with the child's output if the child failed; it
// skips t when this machine cannot make the namespace (no unshare or ip,
// user namespaces off, no IPv6). Several real sources of one IPv6
// network cannot be had otherwise: ::1 is the only IPv6 loopback address,
// and adding addresses to the host's own interfaces would touch the
// machine for every other process. Only a top-level test may call it.
func InNetns(t *testing.T, prefixes ...string) bool {
	t.Helper()
	if os.Getenv(netnsEnv) == t.Name() {
		return true
	}
	script := "ip link set lo up"
	for _, p := range prefixes {
		if _, err := netip.ParsePrefix(p); err != nil {
			t.Fatalf("InNetns: %q is not an address with its prefix length: %v", p, err)
		}
		script += " && ip addr add " + p + " dev lo nodad"
	}
	script += ` && echo ` + netnsReady + ` && exec "$0" "$@"`
	for _, tool := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("a private network namespace needs %s: %v", tool, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "-rn", "sh", "-c", script, os.Args[0],
		"-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), netnsEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	text := string(out)
	if !strings.Contains(text, netnsReady) {
		t.Skipf("no private network namespace here (unshare -rn, ip addr add): %v\n%s", err, text)
	}
	if err != nil || !strings.Contains(text, "--- PASS: "+t.Name()) {
		t.Fatalf("%s in its network namespace: %v\n%s", t.Name(), err, text)
	}
	return false
}
