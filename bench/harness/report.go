package harness

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"
)

// Report is a whole benchmark run: the machine, the settings and each
// server's result.
type Report struct {
	Date      time.Time          `json:"date"`
	Machine   Machine            `json:"machine"`
	GoVersion string             `json:"go_version"`
	Commit    string             `json:"commit,omitempty"`
	Settings  Settings           `json:"settings"`
	Results   map[string]*Result `json:"results"`
	// BurstOrder is the servers of each interleaved burst round in the
	// order they ran (RunInterleaved); nil: each server's bursts ran in a row.
	BurstOrder [][]string `json:"burst_order,omitempty"`
	// HoldOrder is the servers of each interleaved hold round in the order
	// they ran (hold_rounds.go); nil: no hold rounds.
	HoldOrder [][]string `json:"hold_order,omitempty"`
	Seconds   float64    `json:"seconds"`
	// Micro is the output of the codec's and registry's micro-benchmarks
	// (go test -bench -benchmem), when the run could make it.
	Micro string `json:"micro_benchmarks,omitempty"`
	// ProfileTop is `go tool pprof -top` of the in-process server's profiles.
	ProfileTop map[string]string `json:"profile_top,omitempty"`
	// Chart is the PNG's file name, next to the Markdown.
	Chart string `json:"chart,omitempty"`
}

// Machine is what the run ran on.
type Machine struct {
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	MemoryGiB int    `json:"memory_gib"`
	Kernel    string `json:"kernel"`
	OpenFiles string `json:"open_files_limit"`
	// Nice is the harness's scheduling niceness, which the servers and
	// load processes inherit (a run under `nice -n -10` on a shared machine).
	Nice int `json:"nice"`
}

// ThisMachine describes the machine from /proc.
func ThisMachine() Machine {
	m := Machine{Cores: runtime.NumCPU()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			m.MemoryGiB = int(math.Round(float64(kb) / (1 << 20)))
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/self/limits"); err == nil {
		for line := range strings.Lines(string(b)) {
			if strings.HasPrefix(line, "Max open files") {
				f := strings.Fields(line)
				if len(f) >= 5 {
					m.OpenFiles = f[3] + " soft, " + f[4] + " hard"
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/self/stat"); err == nil {
		rest := b[strings.LastIndexByte(string(b), ')')+1:]
		if f := strings.Fields(string(rest)); len(f) > 16 {
			_, _ = fmt.Sscan(f[16], &m.Nice)
		}
	}
	return m
}

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error { return WriteJSON(w, rep) }

// WriteJSON writes v as indented JSON, as every report's figures are.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Failed lists what makes the run fail: errors under load and problems.
// Targets missed are reported, not failures: the run measured them.
func (rep *Report) Failed() []string {
	var out []string
	for _, k := range rep.kinds() {
		r := rep.Results[k]
		for kind, n := range r.Errors {
			out = append(out, fmt.Sprintf("%s: %d × %s", k, n, kind))
		}
		for _, p := range r.Problems {
			out = append(out, k+": "+p)
		}
	}
	sort.Strings(out)
	return out
}

// kinds are the servers in report order: the standard ones, then
// experiments (such as the in-process server with another tick) by name.
func (rep *Report) kinds() []string {
	var out, extra []string
	std := []string{KindCliser, KindCliserEvents, KindCliserTrust, KindFloor, KindBaseline, KindInproc}
	for _, k := range std {
		if rep.Results[k] != nil {
			out = append(out, k)
		}
	}
	for k := range rep.Results {
		if !slices.Contains(std, k) {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	return append(out, extra...)
}

// BenchLines writes one Go benchmark line per server, so that benchstat
// can compare runs: `benchstat old.txt new.txt`.
func (rep *Report) BenchLines(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "goos: linux\ngoarch: %s\npkg: github.com/cliser/cliser/bench\ncpu: %s\n", runtime.GOARCH, rep.Machine.CPU)
	for _, k := range rep.kinds() {
		r := rep.Results[k]
		fmt.Fprintf(&b, "BenchmarkServer/server=%s/clients=%d-%d\t1", strings.NewReplacer(" ", "_", "=", "-").Replace(k), r.Clients, rep.Machine.Cores)
		metric := func(v float64, unit string) {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				fmt.Fprintf(&b, "\t%.4g %s", v, unit)
			}
		}
		metric(subprocessOnly(r, r.RSSPerClient), "rss-B/client")
		if r.Burst.Handshakes > 0 {
			metric(r.Burst.Rate, "burst-handshakes/s")
			metric(r.Burst.PerCPU, "burst-handshakes/cpu-s")
		}
		metric(r.HandshakeRate, "handshakes/s")
		metric(r.HandshakesPerCPU, "handshakes/cpu-s")
		metric(r.Handshake.P99, "handshake-p99-ms")
		metric(r.Idle.CPUPercent, "idle-cpu-%")
		metric(subprocessOnly(r, float64(r.Idle.RSS)), "idle-rss-B")
		metric(r.ProbeRTT.P50, "ka-rtt-p50-ms")
		metric(r.ProbeRTT.P99, "ka-rtt-p99-ms")
		metric(r.ProbeRTT.P999, "ka-rtt-p999-ms")
		if r.ServerRTT != nil && !r.ServerRTT.UpperBound {
			metric(r.ServerRTT.P99, "server-rtt-p99-ms")
			metric(r.ServerRTT.P999, "server-rtt-p999-ms")
		}
		metric(r.Shutdown.LastAck, "shutdown-last-ack-ms")
		metric(float64(sumErrors(r.Errors)), "errors")
		b.WriteByte('\n')
	}
	_, err := w.Write(b.Bytes())
	return err
}

func sumErrors(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}
