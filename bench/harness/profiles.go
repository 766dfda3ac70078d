package harness

import (
	"os"
	"runtime"
	"runtime/pprof"
)

// startProfile writes a CPU profile of the in-process server while the
// returned function is not yet called.
func (r *runner) startProfile(name string) func() {
	if name == "" || r.kind != KindInproc || r.env.ProfilePrefix == "" {
		return func() {}
	}
	path := r.env.ProfilePrefix + "-" + name + ".pprof"
	stop, err := startCPUProfile(path)
	if err != nil {
		r.problem("profile: %v", err)
		return func() {}
	}
	return func() {
		stop()
		r.res.Profiles = append(r.res.Profiles, path)
	}
}

// writeHeapProfile writes the in-process server's live heap at the top
// (after a GC, so it is what the clients hold, not garbage).
func (r *runner) writeHeapProfile() {
	if r.kind != KindInproc || r.env.ProfilePrefix == "" {
		return
	}
	path := r.env.ProfilePrefix + "-heap.pprof"
	f, err := os.Create(path)
	if err != nil {
		r.problem("heap profile: %v", err)
		return
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		r.problem("heap profile: %v", err)
		return
	}
	r.res.Profiles = append(r.res.Profiles, path)
}

func heapSampling(env Env) int {
	if env.ProfilePrefix == "" {
		return 0
	}
	return 4096
}
