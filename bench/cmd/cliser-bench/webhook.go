package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/cliser/cliser/bench/harness"
	"github.com/cliser/cliser/events"
)

// webhookBench measures a reconnect storm with the event log and a webhook
// on against both off (EVENTS.md, docs/events.md): N clients register, then
// all drop and register again at once. "off" runs serve with
// --event-retention 0; "on" with the log and --webhook-url to a receiver in
// this process that verifies every signature. Rounds alternate. It reports
// the server's CPU per handshake of the storm, how long after the storm's
// last handshake the receiver had every event, and the log's bytes per
// event on disk.
type webhookRound struct {
	Mode        string           `json:"mode"` // "off" or "on"
	Round       int              `json:"round"`
	Clients     int              `json:"clients"`
	Registered  int64            `json:"registered"` // in the storm
	Errors      int64            `json:"errors"`
	StormWall   time.Duration    `json:"storm_wall_ns"`
	ServerCPU   time.Duration    `json:"server_cpu_ns"`
	CPUPerHS    time.Duration    `json:"server_cpu_per_handshake_ns"`
	UserPerHS   time.Duration    `json:"server_user_cpu_per_handshake_ns"` // of CPUPerHS, the server's own code
	SysPerHS    time.Duration    `json:"server_sys_cpu_per_handshake_ns"`  // of CPUPerHS, the kernel (network, disk)
	ErrorKinds  map[string]int64 `json:"error_kinds,omitempty"`            // the storm's client errors by kind
	Events      int64            `json:"events"`                           // expected in the log: connects, disconnects, connects again
	Delivered   int64            `json:"delivered"`                        // distinct events the receiver verified
	Requests    int64            `json:"requests"`                         // webhook requests received
	OutOfOrder  int64            `json:"out_of_order"`                     // first arrivals not in seq order
	CatchUp     time.Duration    `json:"catch_up_ns"`                      // from the storm's last handshake to the last event received
	LogBytes    int64            `json:"log_file_bytes"`                   // events.db after the storm
	LogAlloc    int64            `json:"log_disk_bytes"`                   // of which blocks allocated on disk (bbolt grows the file with a hole)
	BytesPerEvt float64          `json:"bytes_per_event"`                  // LogAlloc / Events
	Load1       float64          `json:"load1"`                            // the machine's 1-minute load average as the storm began
	CTDrops     uint64           `json:"conntrack_drops"`                  // packets the kernel's connection tracking dropped during the storm (conntrack.go)
}

// stormReceiver keeps every request as it came and answers 204 at once;
// verify checks them all after the storm. Verifying (HMAC) and decoding
// 57,000 events while the storm runs took CPU from the load generator in
// this process in "on" rounds only, which made the storm slower and the
// server's work per handshake different from the other modes'. Which
// events arrived is read from the webhook-id (msg_<first>-<last>_<id>) and held
// to the body by verify.
type stormReceiver struct {
	wh *standardwebhooks.Webhook

	mu        sync.Mutex
	reqs      []storedRequest
	seen      map[uint64]bool
	lastEvent time.Time
}

type storedRequest struct {
	header      http.Header
	body        []byte
	first, last uint64
}

func (s *stormReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var first, last uint64
	if err == nil {
		_, err = fmt.Sscanf(r.Header.Get("webhook-id"), "msg_%d-%d", &first, &last)
	}
	if err != nil || first == 0 || last < first {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	h := http.Header{}
	for _, k := range []string{"webhook-id", "webhook-timestamp", "webhook-signature"} {
		h.Set(k, r.Header.Get(k))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, storedRequest{header: h, body: body, first: first, last: last})
	for seq := first; seq <= last; seq++ {
		s.seen[seq] = true
	}
	s.lastEvent = time.Now()
	w.WriteHeader(http.StatusNoContent)
}

func (s *stormReceiver) count() (int64, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.seen)), s.lastEvent
}

// verify checks every request kept (signature, with the Standard Webhooks
// library; its events are exactly the seqs its id names) and returns the
// requests and the events whose first arrival was not in seq order.
func (s *stormReceiver) verify() (requests, outOfOrder int64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[uint64]bool{}
	var maxSeq uint64
	for i, rq := range s.reqs {
		// The timestamp window (5 min) holds: this runs seconds after.
		if err := s.wh.Verify(rq.body, rq.header); err != nil {
			return 0, 0, fmt.Errorf("request %d (%s): %w", i+1, rq.header.Get("webhook-id"), err)
		}
		var p struct {
			Data struct {
				Events []events.Event `json:"events"`
			} `json:"data"`
		}
		if err := json.Unmarshal(rq.body, &p); err != nil {
			return 0, 0, fmt.Errorf("request %d: %w", i+1, err)
		}
		evs := p.Data.Events
		if len(evs) == 0 || evs[0].Seq != rq.first || evs[len(evs)-1].Seq != rq.last || uint64(len(evs)) != rq.last-rq.first+1 {
			return 0, 0, fmt.Errorf("request %d: its events are not the seqs %d-%d its webhook-id names", i+1, rq.first, rq.last)
		}
		for _, e := range evs {
			if seen[e.Seq] {
				continue
			}
			if e.Seq != maxSeq+1 {
				outOfOrder++
			}
			seen[e.Seq] = true
			maxSeq = max(maxSeq, e.Seq)
		}
	}
	return int64(len(s.reqs)), outOfOrder, nil
}

const benchWebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // the specification's test vector's; a bench only

func webhookBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("webhook", flag.ContinueOnError)
	var f roundFlags
	f.register(fs, "clients in the storm", 2)
	profPrefix := fs.String("cpuprofile", "", "write the server's CPU profile of each storm to PREFIX-<mode>-<round>.pprof (needs cliser built with -tags cpuprofile)")
	modeList := fs.String("modes", "off,on", "modes to alternate: off (no log, no webhook), log (the log, no webhook), on (log and webhook)")
	if err := f.parse(fs, args); err != nil {
		return err
	}
	modes := strings.Split(*modeList, ",")
	if !slices.Contains(modes, "off") {
		return errors.New("--modes must include off, the reference")
	}
	for _, m := range modes {
		if m != "off" && m != "log" && m != "on" {
			return fmt.Errorf("--modes: %q is not off, log or on", m)
		}
	}
	results, err := runRounds(&f, "webhook", modes, func(dir, mode string, r, seq int) (webhookRound, error) {
		prof := ""
		if *profPrefix != "" {
			prof = fmt.Sprintf("%s-%s-%d.pprof", *profPrefix, mode, r+1)
		}
		res, err := webhookRoundRun(ctx, f.bin, dir, mode, r, f.clients, f.concurrency, seq, prof)
		if err == nil {
			fmt.Fprintf(os.Stderr, "%-3s round %d: %d registered, %d errors, %v storm, %v CPU per handshake, %d/%d events delivered, caught up %v after\n",
				mode, r+1, res.Registered, res.Errors, res.StormWall.Round(time.Millisecond), res.CPUPerHS.Round(100*time.Nanosecond),
				res.Delivered, res.Events, res.CatchUp.Round(time.Millisecond))
		}
		return res, err
	})
	if err != nil {
		return err
	}
	if err := f.writeRoundReport(webhookReport(results, f.clients, *modeList), results); err != nil {
		return err
	}
	for _, r := range results {
		if err := roundShortfall(r.Mode, r.Round, r.Clients, r.Registered, r.Errors); err != nil {
			return err
		}
		if r.Mode == "on" && r.Delivered != r.Events {
			return fmt.Errorf("on round %d: %d of %d events delivered", r.Round, r.Delivered, r.Events)
		}
	}
	return nil
}

func webhookReport(rs []webhookRound, n int, modes string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Reconnect storm with the event log and a webhook, %s\n\n", time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "`cliser-bench webhook --clients %d --rounds %d --modes %s`: %d clients register; then all drop at once and\n",
		n, len(rs)/len(strings.Split(modes, ",")), modes, n)
	b.WriteString("register again (the storm, measured). `off`: `--event-retention 0`, no webhook. `log`: the event log, no\n")
	b.WriteString("webhook. `on`: the event log\n")
	b.WriteString("(`events.db`) and `--webhook-url` to a receiver in the bench process that keeps every request and, once\n")
	b.WriteString("the storm is over, verifies every signature with the Standard Webhooks library; default batch (100) and linger\n")
	b.WriteString("(200ms). Rounds alternate, every other one in reverse order (off, log, on, then on, log, off); server, load and\n")
	fmt.Fprintf(&b, "receiver share the machine's %d cores over loopback. Errors are the storm's client errors, by kind.\n\n", runtime.NumCPU())
	tableHead(&b, "mode", "round", "registered", "errors", "storm wall", "server CPU", "CPU per handshake", "of it user", "of it system", "events", "delivered", "requests", "out of order", "caught up after the storm", "events.db size", "on disk", "bytes/event on disk")
	for _, r := range rs {
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %v | %v | %v | %v | %v | %d | %d | %d | %d | %v | %d | %d | %.0f |\n", r.Mode, r.Round, r.Registered,
			errorsCell(r.Errors, r.ErrorKinds, r.CTDrops), r.StormWall.Round(time.Millisecond), r.ServerCPU.Round(time.Millisecond), r.CPUPerHS.Round(100*time.Nanosecond),
			r.UserPerHS.Round(100*time.Nanosecond), r.SysPerHS.Round(100*time.Nanosecond),
			r.Events, r.Delivered, r.Requests, r.OutOfOrder, r.CatchUp.Round(time.Millisecond), r.LogBytes, r.LogAlloc, r.BytesPerEvt)
	}
	med := func(mode string, f func(webhookRound) float64) float64 {
		return medianOf(rs, func(r webhookRound) string { return r.Mode }, mode, f)
	}
	cpu := func(r webhookRound) float64 { return float64(r.CPUPerHS) }
	b.WriteString("\nMedians over the rounds (server CPU per storm handshake, and against `off`):\n\n")
	tableHead(&b, "mode", "CPU per handshake", "/ off", "within 10%", "webhook caught up after the storm")
	off := med("off", cpu)
	for _, m := range strings.Split(modes, ",") {
		c := med(m, cpu)
		verdict, catch := "", ""
		if m != "off" {
			verdict = "no"
			if c/off <= 1.10 {
				verdict = "yes"
			}
		}
		if m == "on" {
			catch = time.Duration(med("on", func(r webhookRound) float64 { return float64(r.CatchUp) })).Round(time.Millisecond).String()
		}
		fmt.Fprintf(&b, "| %s | %v | %.3f | %s | %s |\n", m, time.Duration(c).Round(100*time.Nanosecond), c/off, verdict, catch)
	}
	b.WriteString(roundRatios(rs, modes, func(r webhookRound) time.Duration { return r.CPUPerHS }))
	b.WriteString("\nThe same for the server's user CPU alone (its own code: the events' work is almost all here; the system part is\n")
	b.WriteString("the kernel's loopback TCP work, which the server is charged more or less of as the machine's load moves):\n")
	b.WriteString(roundRatios(rs, modes, func(r webhookRound) time.Duration { return r.UserPerHS }))
	return b.String()
}

// errorsCell is a round's client errors with their kinds, and the packets
// connection tracking dropped meanwhile when it did ("3 (dial: 2,
// handshake timeout: 1; conntrack dropped 40 packets)").
func errorsCell(n int64, kinds map[string]int64, ctDrops uint64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, kinds[k]))
	}
	why := strings.Join(parts, ", ")
	if ctDrops > 0 {
		why = strings.TrimPrefix(fmt.Sprintf("%s; conntrack dropped %d packets", why, ctDrops), "; ")
	}
	if why == "" {
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("%d (%s)", n, why)
}

// roundRatios is each mode's CPU per handshake against off's of the same
// round (the modes of a round run back to back, under much the same load
// from the rest of the machine), and the median of those ratios.
func roundRatios(rs []webhookRound, modes string, cpu func(webhookRound) time.Duration) string {
	var b strings.Builder
	ms := strings.Split(modes, ",")
	b.WriteString("\nPer round, against `off` of the same round (load: the machine's 1-minute load average as each storm began):\n\n| round |")
	for _, m := range ms {
		fmt.Fprintf(&b, " %s / off | load (%s) |", m, m)
	}
	b.WriteString("\n|" + strings.Repeat(" --- |", 1+2*len(ms)) + "\n")
	ratios := map[string][]float64{}
	for round := 1; ; round++ {
		byMode := map[string]webhookRound{}
		for _, r := range rs {
			if r.Round == round {
				byMode[r.Mode] = r
			}
		}
		off, ok := byMode["off"]
		if !ok || cpu(off) == 0 {
			break
		}
		fmt.Fprintf(&b, "| %d |", round)
		for _, m := range ms {
			x := float64(cpu(byMode[m])) / float64(cpu(off))
			ratios[m] = append(ratios[m], x)
			fmt.Fprintf(&b, " %.3f | %.1f |", x, byMode[m].Load1)
		}
		b.WriteString("\n")
	}
	b.WriteString("| median |")
	for _, m := range ms {
		if len(ratios[m]) > 0 {
			fmt.Fprintf(&b, " %.3f | |", harness.Median(ratios[m]))
		}
	}
	b.WriteString("\n")
	return b.String()
}

// loadAvg is /proc/loadavg's first figure (0 where there is none).
func loadAvg() float64 {
	var l float64
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		_, _ = fmt.Sscan(string(b), &l)
	}
	return l
}
