// Command events-bench measures what the event log costs the server in a
// reconnect storm: N clients connect, all drop, all connect again, against
// `cliser serve` with the event log off and on, alternating in one run so
// that the shared machine's noise falls on both alike. It reports the
// server's CPU (user+system, from /proc) per handshake, for the storm and
// until the log has caught up, and the bytes per retained event of
// events.db. See docs/performance.md, "The event log".
//
//	go build -o bin/events-bench ./bench/cmd/events-bench
//	bin/events-bench -clients 19000 -rounds 2 -out bench/results/2026-11-30-events
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cliser/cliser/bench/load"
)

const password = "events-bench-pw"

type phase struct {
	Mode          string  `json:"mode"` // "off" or "on"
	Round         int     `json:"round"`
	Clients       int     `json:"clients"`
	ConnectCPU    float64 `json:"connect_cpu_s"`    // server CPU while N clients connect
	DisconnectCPU float64 `json:"disconnect_cpu_s"` // while they all drop
	ReconnectCPU  float64 `json:"reconnect_cpu_s"`  // while they all connect again
	CatchUpCPU    float64 `json:"catch_up_cpu_s"`   // after the storm, until the log has every event
	CatchUpS      float64 `json:"catch_up_s"`       // how long that took
	Events        uint64  `json:"events"`
	FileBytes     int64   `json:"events_db_bytes"`
	BytesPerEvent float64 `json:"bytes_per_event"`
	Failed        int64   `json:"failed_handshakes"`
	StormS        float64 `json:"storm_s"`
}

func main() {
	clients := flag.Int("clients", 19000, "clients in the storm")
	rounds := flag.Int("rounds", 2, "rounds of off then on")
	bin := flag.String("cliser-bin", "bin/cliser", "the cliser binary")
	out := flag.String("out", "", "write OUT.md and OUT.json (default: print only)")
	flag.Parse()
	var results []phase
	for r := 1; r <= *rounds; r++ {
		for _, mode := range []string{"off", "on"} {
			p, err := storm(*bin, mode, r, *clients)
			if err != nil {
				fmt.Fprintln(os.Stderr, "events-bench:", err)
				os.Exit(1)
			}
			fmt.Printf("%+v\n", p)
			results = append(results, p)
		}
	}
	md := report(results)
	fmt.Print(md)
	if *out != "" {
		raw, _ := json.MarshalIndent(results, "", "  ")
		must(os.WriteFile(*out+".json", append(raw, '\n'), 0o644))
		must(os.WriteFile(*out+".md", []byte(md), 0o644))
	}
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "events-bench:", err)
		os.Exit(1)
	}
}

// server is one `cliser serve` process.
type server struct {
	cmd   *exec.Cmd
	addr  string
	admin string
	dir   string
}

func startServer(bin, mode string) (*server, error) {
	dir, err := os.MkdirTemp("", "events-bench-")
	if err != nil {
		return nil, err
	}
	retention := "1000000"
	if mode == "off" {
		retention = "0"
	}
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
		"--data-dir", dir, "--keepalive-interval", "1h", "--max-handshakes-per-ip", "0", "--auth-fail-limit", "0",
		"--event-retention", retention)
	cmd.Env = append(os.Environ(), "CLISER_PASSWORD="+password)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, dir: dir}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			var l struct {
				Msg, Listen, Admin string
			}
			if s.addr == "" && json.Unmarshal(sc.Bytes(), &l) == nil && strings.HasPrefix(l.Msg, "cliser ready") {
				s.addr, s.admin = l.Listen, "http://"+l.Admin
				close(ready)
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	select {
	case <-ready:
		return s, nil
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("serve never became ready")
	}
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
	_ = os.RemoveAll(s.dir)
}

// cpu is the process's user+system CPU in seconds.
func (s *server) cpu() float64 {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // clock ticks: USER_HZ is 100 on Linux
}

func (s *server) metric(name string) float64 {
	resp, err := http.Get(s.admin + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, name+" ") {
			v, _ := strconv.ParseFloat(strings.TrimPrefix(line, name+" "), 64)
			return v
		}
	}
	return -1
}

func (s *server) newest() uint64 {
	resp, err := http.Get(s.admin + "/v1/events?limit=1")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var r struct{ Next uint64 }
	_ = json.NewDecoder(resp.Body).Decode(&r)
	return r.Next
}

func waitUntil(what string, limit time.Duration, ok func() bool) error {
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %s", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// sources spreads dials over loopback addresses: two fleets of N clients
// and the first one's TIME_WAIT would not fit one address's ports.
func sources(base int) []string {
	var out []string
	for i := range 8 {
		out = append(out, fmt.Sprintf("127.0.%d.%d", base, i+1))
	}
	return out
}

func storm(bin, mode string, round, n int) (phase, error) {
	p := phase{Mode: mode, Round: round, Clients: n}
	s, err := startServer(bin, mode)
	if err != nil {
		return p, err
	}
	defer s.stop()
	ctx := context.Background()
	fleet := func(base int) (*load.Engine, error) {
		return load.New(load.Config{Addr: s.addr, Password: password, IDPrefix: "storm-",
			SourceIPs: sources(base), Concurrency: 256})
	}
	a, err := fleet(10)
	if err != nil {
		return p, err
	}
	start := time.Now()
	c0 := s.cpu()
	if err := a.Ramp(ctx, n, 0); err != nil {
		return p, err
	}
	c1 := s.cpu()
	if err := waitUntil("all connected", time.Minute, func() bool { return s.metric("cliser_clients_connected") == float64(n) }); err != nil {
		return p, err
	}
	c1b := s.cpu()
	if err := a.Close(ctx); err != nil {
		return p, err
	}
	if err := waitUntil("all dropped", time.Minute, func() bool { return s.metric("cliser_clients_connected") == 0 }); err != nil {
		return p, err
	}
	c2 := s.cpu()
	b, err := fleet(20)
	if err != nil {
		return p, err
	}
	defer b.Close(ctx)
	c2b := s.cpu()
	if err := b.Ramp(ctx, n, 0); err != nil {
		return p, err
	}
	c3 := s.cpu()
	stormEnd := time.Now()
	p.StormS = stormEnd.Sub(start).Seconds()
	p.ConnectCPU, p.DisconnectCPU, p.ReconnectCPU = c1-c0, c2-c1b, c3-c2b
	p.Failed = a.Stats().Started - a.Stats().Registered + b.Stats().Started - b.Stats().Registered
	if mode == "on" {
		want := uint64(3 * n)
		if err := waitUntil("log caught up", 5*time.Minute, func() bool { return s.newest() >= want }); err != nil {
			return p, err
		}
		p.CatchUpS = time.Since(stormEnd).Seconds()
		p.Events = s.newest()
		st, err := os.Stat(filepath.Join(s.dir, "events.db"))
		if err == nil {
			p.FileBytes = st.Size()
			p.BytesPerEvent = float64(st.Size()) / float64(p.Events)
		}
	}
	p.CatchUpCPU = s.cpu() - c3
	return p, nil
}

func report(rs []phase) string {
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "# Event log: reconnect storm, log off and on\n\n%s, %s, 2 cores shared with the load generator.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), host)
	fmt.Fprintf(&b, "| round | log | clients | connect CPU s | disconnect CPU s | reconnect CPU s | catch-up CPU s | catch-up s | storm s | failed | events | events.db bytes | bytes/event |\n")
	fmt.Fprintf(&b, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	sum := map[string][2]float64{}
	for _, p := range rs {
		fmt.Fprintf(&b, "| %d | %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f | %d | %d | %d | %.0f |\n",
			p.Round, p.Mode, p.Clients, p.ConnectCPU, p.DisconnectCPU, p.ReconnectCPU, p.CatchUpCPU, p.CatchUpS, p.StormS,
			p.Failed, p.Events, p.FileBytes, p.BytesPerEvent)
		v := sum[p.Mode]
		v[0] += p.ConnectCPU + p.ReconnectCPU
		v[1] += p.ConnectCPU + p.DisconnectCPU + p.ReconnectCPU + p.CatchUpCPU
		sum[p.Mode] = v
	}
	off, on := sum["off"], sum["on"]
	if off[0] > 0 && off[1] > 0 {
		hs := float64(2 * rs[0].Clients * len(rs) / 2)
		fmt.Fprintf(&b, "\nHandshake CPU (the two ramps, all rounds): off %.1f µs, on %.1f µs per handshake: **%+.1f%%**.\n",
			off[0]/hs*1e6, on[0]/hs*1e6, (on[0]/off[0]-1)*100)
		fmt.Fprintf(&b, "Whole storm, until the log has every event (connects, drops, reconnects, the writer's catch-up): off %.1f µs, on %.1f µs per handshake: **%+.1f%%**.\n",
			off[1]/hs*1e6, on[1]/hs*1e6, (on[1]/off[1]-1)*100)
	}
	return b.String()
}
