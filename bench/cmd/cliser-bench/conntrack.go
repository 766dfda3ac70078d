package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// The kernel's connection tracking (netfilter's nf_conntrack, loaded on a
// machine with a firewall or containers) follows loopback connections too,
// and keeps each closed one for nf_conntrack_tcp_timeout_time_wait (120 s
// by default). A storm round opens twice --clients connections, so a quick
// run of 19,000-client rounds leaves 38,000 entries a round: at
// nf_conntrack_max 262,144 the seventh round or so finds the table full,
// and the kernel drops new connections' SYNs ("nf_conntrack: table full,
// dropping packet"). The clients retry their SYN after 1 s and 3 s, and a
// few time out after 5 s: the storms of 11–16 s with a handful of dial
// timeouts that earlier reports showed, in any mode. Every run therefore
// waits, before starting a server, until the table has room for the run
// (storm rounds, floor rounds, the cluster run), and each storm round
// counts the packets the table dropped.

const (
	conntrackCount = "/proc/sys/net/netfilter/nf_conntrack_count"
	conntrackMax   = "/proc/sys/net/netfilter/nf_conntrack_max"
	conntrackStat  = "/proc/net/stat/nf_conntrack"

	// conntrackSlack is room left for the rest of the machine's
	// connections beside a round's.
	conntrackSlack = 10000
	// conntrackWaitMost bounds the wait: entries of closed connections
	// expire within nf_conntrack_tcp_timeout_time_wait.
	conntrackWaitMost = 3 * time.Minute
)

// conntrackRoom is how many more connections the table takes before it
// is full; ok is false where there is no connection tracking.
func conntrackRoom() (room int, ok bool) {
	count, err1 := readProcInt(conntrackCount)
	most, err2 := readProcInt(conntrackMax)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return most - count, true
}

// waitConntrackRoom waits, at most most, until the table has room for
// need connections, polling each second; it returns how long it waited.
func waitConntrackRoom(need int, most time.Duration) time.Duration {
	start := time.Now()
	for {
		room, ok := conntrackRoom()
		if !ok || room >= need || time.Since(start) >= most {
			return time.Since(start)
		}
		time.Sleep(time.Second)
	}
}

// waitForConntrack is waitConntrackRoom for what, which makes need
// connections, saying so on stderr when it waited.
func waitForConntrack(what string, need int) {
	if w := waitConntrackRoom(need+conntrackSlack, conntrackWaitMost); w >= time.Second {
		fmt.Fprintf(os.Stderr, "%s: waited %v for room in the kernel's connection tracking table\n", what, w.Round(time.Second))
	}
}

// conntrackDrops is the number of packets connection tracking dropped
// since boot (all CPUs), 0 where there is none.
func conntrackDrops() uint64 {
	b, err := os.ReadFile(conntrackStat)
	if err != nil {
		return 0
	}
	n, _ := parseConntrackDrops(string(b))
	return n
}

// parseConntrackDrops sums the "drop" column of /proc/net/stat/nf_conntrack:
// a header line naming the columns, then a line of hexadecimal counters
// per CPU.
func parseConntrackDrops(s string) (uint64, error) {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	col := -1
	for i, name := range strings.Fields(lines[0]) {
		if name == "drop" {
			col = i
		}
	}
	if col < 0 {
		return 0, fmt.Errorf("conntrack stat: no drop column in %q", lines[0])
	}
	var sum uint64
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if col >= len(f) {
			return 0, fmt.Errorf("conntrack stat: %d columns, want more than %d", len(f), col)
		}
		v, err := strconv.ParseUint(f[col], 16, 64)
		if err != nil {
			return 0, fmt.Errorf("conntrack stat: %w", err)
		}
		sum += v
	}
	return sum, nil
}

func readProcInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}
