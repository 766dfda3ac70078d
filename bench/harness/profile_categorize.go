package harness

import "strings"

// ownerOf says whose work a stack (leaf first) is. The leaf's frames up to
// the first frame of an owning package are the work being done for it: a
// system call in them makes the sample a system call's, whoever made it
// (the floor makes the same ones); else GC, the scavenger or the scheduler
// in them make it theirs (an allocation's assist is GC's); else it is the
// owning package's (an allocation or a map lookup is its caller's).
func ownerOf(stack []string) string {
	n := 0
	for n < len(stack) && packageOwner(stack[n]) == "" {
		n++
	}
	work := stack[:n]
	kind := syscallKind(work)
	if kind != "" && kind != runtimeSyscall {
		return "syscalls: " + kind
	}
	for _, rt := range []struct {
		owner    string
		prefixes []string
	}{
		{ownerGC, gcFuncs}, {ownerScavenger, scavengerFuncs}, {ownerScheduler, schedulerFuncs},
	} {
		for _, f := range work {
			if hasAnyPrefix(f, rt.prefixes) {
				return rt.owner
			}
		}
	}
	switch {
	case kind == runtimeSyscall:
		return "syscalls: other"
	case n < len(stack):
		return packageOwner(stack[n])
	}
	return ownerRuntime
}

// runtimeSyscall is a system call the runtime makes itself, with no
// wrapper of package syscall or unix above it: the scheduler's and GC's
// are theirs (the runtime's netpoll, madvise), the rest "other".
const runtimeSyscall = "runtime"

var (
	gcFuncs = []string{"runtime.gc", "runtime.markroot", "runtime.scanobject", "runtime.scanblock", "runtime.scanstack", "runtime.scanframeworker",
		"runtime.greyobject", "runtime.bgsweep", "runtime.sweepone", "runtime.(*sweepLocked)", "runtime.(*gcWork)", "runtime.(*gcControllerState)",
		"runtime.wbBuf", "runtime.bulkBarrier", "runtime.deductSweepCredit", "runtime.(*mspan).sweep", "runtime.(*mheap).reclaim"}
	scavengerFuncs = []string{"runtime.bgscavenge", "runtime.(*scavengerState)", "runtime.(*pageAlloc).scavenge", "runtime.(*scavChunkData)"}
	schedulerFuncs = []string{"runtime.schedule", "runtime.findRunnable", "runtime.mcall", "runtime.park_m", "runtime.gosched", "runtime.goschedImpl",
		"runtime.stopm", "runtime.startm", "runtime.wakep", "runtime.handoffp", "runtime.notesleep", "runtime.notewakeup", "runtime.futex",
		"runtime.sysmon", "runtime.usleep", "runtime.osyield", "runtime.ready", "runtime.goready", "runtime.runqgrab", "runtime.stealWork",
		"runtime.mstart", "runtime.newproc", "runtime.goexit0", "runtime.execute", "runtime.retake", "runtime.preemptone", "runtime.asyncPreempt",
		"runtime.netpoll", "runtime.semasleep", "runtime.semawakeup"}
)

// syscallKind is the system call a stack's work makes (read, write,
// accept, epoll, close, sockopt or other), "" for none: named by its outermost
// wrapper in package syscall or golang.org/x/sys/unix.
func syscallKind(work []string) string {
	name := ""
	for _, f := range work {
		switch {
		case strings.HasPrefix(f, "syscall.") || strings.HasPrefix(f, "golang.org/x/sys/unix."):
			name = strings.ToLower(f[strings.LastIndexByte(f, '.')+1:])
		case strings.HasPrefix(f, "internal/runtime/syscall") && name == "":
			name = runtimeSyscall
		}
	}
	switch {
	case name == "" || name == runtimeSyscall:
		return name
	case strings.Contains(name, "epoll"):
		return "epoll"
	case strings.Contains(name, "accept"):
		return "accept"
	case strings.Contains(name, "read"):
		return "read"
	case strings.Contains(name, "write"):
		return "write"
	case strings.Contains(name, "sockopt"):
		return "sockopt"
	case name == "close":
		return "close"
	}
	return "other"
}

// packageOwner is the owner a function's package is, "" for a package
// whose work is its caller's (the runtime, the standard library but
// net/http, helpers such as btree).
func packageOwner(fn string) string {
	for _, o := range libOwners {
		if strings.HasPrefix(fn, o.prefix) {
			return o.owner
		}
	}
	rest, ok := strings.CutPrefix(fn, "github.com/cliser/cliser/")
	if !ok {
		return ""
	}
	pkg := rest[:strings.IndexAny(rest+".", "./")]
	if pkg == "internal" {
		rest = strings.TrimPrefix(rest, "internal/")
		pkg = rest[:strings.IndexAny(rest+".", "./")]
	}
	if pkg == "admin" {
		return "cliser: admin/metrics"
	}
	return "cliser: " + pkg
}

// libOwners are the packages whose work is an owner's: gnet's own, the
// floor's and the baseline's (bench), and the libraries cliser's packages
// work through, counted as theirs.
var libOwners = []struct{ prefix, owner string }{
	{"github.com/panjf2000/gnet/", ownerGnet},
	{"github.com/cliser/cliser/bench/floor.", "floor"},
	{"github.com/cliser/cliser/bench/baseline.", "baseline"},
	{"github.com/cliser/cliser/bench/", "bench"},
	{"go.uber.org/zap", "cliser: logging"},
	{"github.com/prometheus/", "cliser: admin/metrics"},
	{"go.etcd.io/bbolt", "cliser: store (bbolt)"},
	{"net/http.", "net/http (admin, webhook)"},
	{"main.", "main"},
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
