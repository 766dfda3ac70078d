package harness

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/google/pprof/profile"
)

// A CPU profile read by owner: whose work each sample is, so that the
// report can say where one server's extra µs a handshake go beside
// another's. github.com/google/pprof/profile reads the profile: it is the
// format's own parser (gzip, protobuf, inlined frames), which `go tool
// pprof` uses, and the harness needs the stacks, not pprof's text output.

// Breakdown is a profile's CPU time by owner, in % of its samples' time.
type Breakdown struct {
	Samples int64              `json:"samples"`
	CPU     float64            `json:"cpu_s"` // the samples' CPU time
	Percent map[string]float64 `json:"percent"`
}

// The owners, in the report's order: what the floor does too (system
// calls, gnet), the Go runtime's own work, then cliser's packages.
const (
	ownerGC        = "runtime: GC"
	ownerScavenger = "runtime: scavenger"
	ownerScheduler = "runtime: scheduler"
	ownerRuntime   = "runtime: other"
	ownerGnet      = "gnet"
	ownerOther     = "other"
)

var ownerOrder = []string{"syscalls: read", "syscalls: write", "syscalls: accept", "syscalls: epoll", "syscalls: close", "syscalls: sockopt", "syscalls: other",
	ownerGnet, ownerGC, ownerScavenger, ownerScheduler, ownerRuntime}

func readProfile(path string) (*profile.Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

func breakdownOf(p *profile.Profile) (*Breakdown, error) {
	vi := slices.IndexFunc(p.SampleType, func(t *profile.ValueType) bool { return t.Type == "cpu" })
	ni := slices.IndexFunc(p.SampleType, func(t *profile.ValueType) bool { return t.Type == "samples" })
	if vi < 0 || ni < 0 {
		return nil, fmt.Errorf("not a CPU profile (sample types %v)", p.SampleType)
	}
	b := &Breakdown{Percent: map[string]float64{}}
	var total int64
	for _, s := range p.Sample { // one per stack, with its count
		v := s.Value[vi]
		total += v
		b.Samples += s.Value[ni]
		b.Percent[ownerOf(stackOf(s))] += float64(v)
	}
	if total == 0 {
		return nil, fmt.Errorf("the profile has no CPU samples")
	}
	for k, v := range b.Percent {
		b.Percent[k] = 100 * v / float64(total)
	}
	b.CPU = float64(total) / 1e9
	return b, nil
}

// stackOf is a sample's function names, leaf first (inlined ones too).
func stackOf(s *profile.Sample) []string {
	var out []string
	for _, loc := range s.Location {
		for _, l := range loc.Line {
			if l.Function != nil {
				out = append(out, l.Function.Name)
			}
		}
	}
	return out
}

// Owners are the breakdown's owners with any share, in the report's order.
func (b *Breakdown) Owners() []string {
	var out []string
	for k := range b.Percent {
		out = append(out, k)
	}
	slices.SortFunc(out, func(x, y string) int { return cmp.Or(cmp.Compare(ownerRank(x), ownerRank(y)), strings.Compare(x, y)) })
	return out
}

func ownerRank(o string) int {
	if i := slices.Index(ownerOrder, o); i >= 0 {
		return i
	}
	if o == ownerOther {
		return len(ownerOrder) + 2
	}
	return len(ownerOrder) + 1
}
