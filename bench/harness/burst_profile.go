package harness

import (
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/pprof/profile"

	"github.com/cliser/cliser/internal/cpuprofile"
)

// After its measured bursts, a subprocess server gets ProfileRounds more,
// the same, each under its own CPU profile (internal/cpuprofile): the profile
// says where a burst's CPU goes (profile_owners.go) and costs none of the
// measured figures. Their own CPU per handshake is kept beside them, which
// is the profiler's cost.

// ProfiledBurst is the extra bursts' merged profile and what they measured.
type ProfiledBurst struct {
	Profile    string     `json:"profile,omitempty"` // the file's name, next to the report
	Handshakes int64      `json:"handshakes,omitempty"`
	ServerCPU  float64    `json:"server_cpu_s,omitempty"` // its tail included, as the bursts'
	Owners     *Breakdown `json:"owners,omitempty"`
	// Missing says why there is no profile, when there is none.
	Missing string `json:"missing,omitempty"`
}

// burstProfile is the path the run's profiled burst goes to, or "" and
// why not.
func burstProfile(kind string, env Env) (path, missing string) {
	if env.BurstProfilePrefix == "" || env.External != nil {
		return "", ""
	}
	switch kind {
	case KindFloor, KindBaseline: // bench/benchserver installs the hook
	case KindCliser, KindCliserEvents, KindCliserTrust:
		if !hasBuildTag(env.CliserBin, "cpuprofile") {
			// No hook: SIGUSR2 would end the server.
			return "", fmt.Sprintf("%s is not built with -tags cpuprofile (make build writes bin/cliser-prof)", env.CliserBin)
		}
	default:
		return "", ""
	}
	return fmt.Sprintf("%s-%s-burst.pprof", env.BurstProfilePrefix, kind), ""
}

// hasBuildTag says whether bin was built with the tag (go version -m).
func hasBuildTag(bin, tag string) bool {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-tags" && slices.Contains(strings.Split(s.Value, ","), tag) {
			return true
		}
	}
	return false
}

// profiledBurst runs ProfileRounds more bursts, each under the server's
// profile, merges their profiles into path and reads its owners.
func (r *runner) profiledBurst(ctx context.Context, path string) error {
	pb := &r.res.ProfiledBurst
	proc, ok := r.srv.(interface{ process() *os.Process })
	if !ok || r.set.Burst <= 0 || r.res.Burst.Handshakes == 0 {
		return nil
	}
	var profs []*profile.Profile
	var profErr error
	for round := range max(r.set.ProfileRounds, 1) {
		window := func() func() {
			if profErr = cpuprofile.Start(proc.process(), path); profErr != nil {
				return func() {}
			}
			return func() { profErr = cpuprofile.Stop(proc.process(), path) }
		}
		r.roomFor(fmt.Sprintf("%s profiled burst %d", r.kind, round+1), r.set.Burst)
		br, err := r.measureBurst(ctx, profileSource(r.kind, round), nil, window)
		if err != nil {
			return err
		}
		pb.Handshakes += br.st.Handshakes
		pb.ServerCPU += br.cpu
		if profErr != nil {
			break
		}
		p, err := readProfile(path)
		if profErr = err; err != nil {
			break
		}
		profs = append(profs, p)
	}
	owners, err := mergeInto(path, profs, profErr)
	if err != nil {
		// The measured figures stand; the report says the profile is missing.
		pb.Missing = fmt.Sprintf("the profiled bursts' profile: %v", err)
		r.say("profiled bursts: %s", pb.Missing)
		return nil
	}
	pb.Profile, pb.Owners = filepath.Base(path), owners
	r.res.Profiles = append(r.res.Profiles, path)
	r.say("profiled bursts: %d handshakes, server CPU %.3fs (%.1f µs each), %d samples in %s",
		pb.Handshakes, pb.ServerCPU, 1e6*pb.ServerCPU/max(float64(pb.Handshakes), 1), owners.Samples, path)
	return nil
}

// profileSource is where profiled burst round (from 0) of kind dials
// from: the blocks past the measured bursts' (burstSource) in the same
// nets. (They dialled from the hold rounds' nets until session 17, a
// minute or less after the last hold round of the kind closed there.)
func profileSource(kind string, round int) source {
	b := burstSource(kind, round)
	b.block += burstBlocks
	return b
}

// mergeInto writes the bursts' profiles as one to path and breaks it down.
func mergeInto(path string, profs []*profile.Profile, profErr error) (*Breakdown, error) {
	if profErr != nil {
		return nil, profErr
	}
	p, err := profile.Merge(profs)
	if err != nil {
		return nil, err
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := errors.Join(p.Write(f), f.Close()); err != nil {
		return nil, err
	}
	return breakdownOf(p)
}
