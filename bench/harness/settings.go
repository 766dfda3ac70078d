package harness

import (
	"fmt"
	"io"
	"time"

	"github.com/cliser/cliser/bench/load"
)

// Settings are the load's shape; the same for every server of a run.
type Settings struct {
	Mode             string        `json:"mode"`
	Stages           []int         `json:"stages"`      // client counts to ramp to, ascending
	Rate             float64       `json:"rate_per_s"`  // new connections a second in a ramp; 0: as fast as the fleet goes
	Concurrency      int           `json:"concurrency"` // handshakes in flight per load process
	KeepAlive        time.Duration `json:"keepalive_interval"`
	KeepAliveTimeout time.Duration `json:"keepalive_timeout"`
	HandshakeTimeout time.Duration `json:"handshake_timeout"`
	Settle           time.Duration `json:"settle"`     // each plateau, before its RSS is read
	Hold             time.Duration `json:"hold"`       // the idle keep-alive phase at the top
	ProbeHold        time.Duration `json:"probe_hold"` // the probe phase
	Probes           int           `json:"probes"`
	PerWorker        int           `json:"clients_per_load_process"`
	SourceIPs        int           `json:"source_ips_per_load_process"`
	ShutdownWait     time.Duration `json:"shutdown_wait"`         // bound on the broadcast's acks
	InprocTick       time.Duration `json:"inproc_tick,omitempty"` // the in-process reactor's wheel tick; 0: its default
	Transport        string        `json:"load_transport"`        // load.TransportEpoll
	// LoopsPerWorker is each load process's epoll loops: 1, so that the
	// load's threads do not outnumber the cores more than they must.
	LoopsPerWorker int `json:"loops_per_load_process"`
	// Burst is how many clients each handshake burst opens on the emptied
	// server after the shutdown (then closes); 0 skips the bursts.
	Burst       int `json:"burst"`
	BurstRounds int `json:"burst_rounds"`
	// HoldRounds is how many interleaved keep-alive holds of the top
	// stage's size each server gets after the bursts (RunInterleaved,
	// hold_rounds.go), each RoundHold long; 0 skips them.
	HoldRounds int           `json:"hold_rounds,omitempty"`
	RoundHold  time.Duration `json:"hold_round,omitempty"`
	// RoundProbeHold is each hold round's probe window, after its hold
	// (hold_rounds_probe.go): Probes of its fleet probing; 0 skips it.
	RoundProbeHold time.Duration `json:"hold_round_probes,omitempty"`
	// ProfileRounds is how many bursts run after the measured ones under
	// the server's CPU profile (Env.BurstProfilePrefix): four gave 173-269
	// samples a server at 200 Hz in a quick run, 130-260 in a full one;
	// each round takes ~1.5 s (the burst, its tail and its settle:
	// burst_settle.go), or its room in connection tracking (roomFor).
	ProfileRounds int `json:"profile_rounds,omitempty"`
	// ServerCPUs and LoadCPUs pin the server subprocess and the load
	// processes to CPU lists ("0", "1-3"; empty: not pinned), every server
	// alike; GOMAXPROCS and the servers' event loops follow (pin.go).
	ServerCPUs string `json:"server_cpus,omitempty"`
	LoadCPUs   string `json:"load_cpus,omitempty"`
	Password   string `json:"-"`
}

// Quick and Full are the two standard shapes (make bench, make bench-full).
func Quick() Settings {
	return Settings{Mode: "quick", Stages: []int{1000, 2000, 5000}, Concurrency: 128,
		KeepAlive: time.Second, KeepAliveTimeout: 5 * time.Second, HandshakeTimeout: 10 * time.Second,
		Settle: 3 * time.Second, Hold: 10 * time.Second, ProbeHold: 10 * time.Second, Probes: 100,
		PerWorker: 9500, SourceIPs: 4, LoopsPerWorker: 1, Burst: 4000, BurstRounds: 6, ProfileRounds: 4, ShutdownWait: 15 * time.Second, Password: "bench-password",
		HoldRounds: 2, RoundHold: 8 * time.Second, RoundProbeHold: 2 * time.Second,
		Transport: load.TransportEpoll}
}

// Full is the 19,000-client shape. Its bursts are 24 interleaved rounds
// of 4,000 (session 17; six before, four of 5,000 before session 14): a
// single run's six ratios spread 0.83-1.55×, and on a loaded machine the
// median of 24 had a 95% interval 0.20-0.26 wide against six's 0.16-0.56.
// A burst settles in ~1.5 s where it waited 4.1 s (burst_settle.go), and
// the kernel's connection tracking (roomFor) bounds their pace to ~2 s:
// the 24 cost a quiet full run ~190 s more than the six (1,150 s against
// 958 s). A 4,000 burst (0.26-0.39 s quiet) leaves the window more of the
// 0.85 s before the burst's first keep-alives. Its eight
// profiled bursts double the owner table's samples. Its hold rounds are
// eight of 8 s (four from session 15 to 20): a round of four servers
// takes ~40 s on the quiet machine, and the four rounds' RTT ratios
// spread 0.56-2.86× in session 20's run, so their median crossed the
// 1.10× line from run to run; eight give it a 95% interval (the range
// of the eight) for ~2.7 min more.
func Full() Settings {
	s := Quick()
	s.BurstRounds = 24
	s.ProfileRounds = 8
	s.HoldRounds = 8
	s.Mode = "full"
	s.Stages = []int{2000, 5000, 10000, 15000, 19000}
	s.Hold, s.ProbeHold, s.Probes = 30*time.Second, 30*time.Second, 300
	return s
}

// Env is where the run finds its programs and puts its files.
type Env struct {
	CliserBin   string
	BaselineBin string
	FloorBin    string
	// WorkerExe is the program run as `WorkerExe worker` for each load
	// process; empty runs one fleet inside this process (tests, small N).
	WorkerExe string
	WorkDir   string
	Progress  io.Writer
	// External, when set, is loaded instead of a server of the kind.
	External *External
	// ProfilePrefix, for the in-process server, writes CPU profiles of the
	// top ramp and of the hold to PREFIX-ramp.pprof and PREFIX-hold.pprof.
	ProfilePrefix string
	// BurstProfilePrefix, for a subprocess server, writes the CPU profile
	// of Settings.ProfileRounds more bursts after the measured ones, merged,
	// to PREFIX-<kind>-burst.pprof
	// (burst_profile.go).
	BurstProfilePrefix string
	// RoomFor, when set, waits until the machine has room for need more
	// connections (the kernel's connection tracking), before a fleet the
	// hold rounds open; what names it.
	RoomFor func(what string, need int)
}

// sourceNet gives each server kind its own 127.N.0.0/16 to dial from, so
// that one run's closed sockets never collide with the next run's.
var sourceNet = map[string]int{KindCliser: 10, KindBaseline: 20, KindInproc: 30, KindFloor: 40, KindCliserEvents: 50, KindCliserTrust: 60}

// source is where a fleet dials from: its w-th load process from
// 127.net.(blockWorkers·block + w + 1).1 and the SourceIPs after it. A
// fleet's addresses are its own so that its sockets never meet an earlier
// fleet's in TIME_WAIT (the client's side, 60 s) or in the kernel's
// connection tracking (120 s): a burst dialled again from the addresses of
// one a few seconds before would find them still there.
type source struct{ net, block int }

// blockWorkers is the most load processes a fleet can have: a block's
// share of the third octet.
const blockWorkers = 16

// netOf is a fleet that dials from the whole of 127.net/16's first block.
func netOf(net int) source { return source{net: net} }

// ip is the k-th source address of the fleet's w-th load process.
func (s source) ip(w, k int) string {
	return fmt.Sprintf("127.%d.%d.%d", s.net, blockWorkers*s.block+w+1, k+1)
}
