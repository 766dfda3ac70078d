package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// Known stacks (leaf first, as pprof has them) and their owners.
func TestOwnerOfKnownStacks(t *testing.T) {
	for _, c := range []struct {
		owner string
		stack []string
	}{
		{"syscalls: read", []string{"internal/runtime/syscall/linux.Syscall6", "syscall.RawSyscall6", "syscall.Syscall", "golang.org/x/sys/unix.read", "golang.org/x/sys/unix.Read",
			"github.com/panjf2000/gnet/v2.(*eventloop).read", "github.com/panjf2000/gnet/v2.(*eventloop).run.func1"}},
		{"syscalls: write", []string{"internal/runtime/syscall/linux.Syscall6", "syscall.Syscall", "golang.org/x/sys/unix.write", "golang.org/x/sys/unix.Write",
			"github.com/panjf2000/gnet/v2.(*conn).write", "github.com/cliser/cliser/reactor.(*session).send"}},
		{"syscalls: accept", []string{"internal/runtime/syscall/linux.Syscall6", "golang.org/x/sys/unix.accept4", "golang.org/x/sys/unix.Accept4", "github.com/panjf2000/gnet/v2/pkg/socket.Accept"}},
		{"syscalls: epoll", []string{"internal/runtime/syscall/linux.Syscall6", "golang.org/x/sys/unix.EpollWait", "github.com/panjf2000/gnet/v2/pkg/netpoll.(*Poller).Polling"}},
		{"syscalls: epoll", []string{"runtime.exitsyscall", "syscall.Syscall6", "golang.org/x/sys/unix.EpollCtl", "github.com/panjf2000/gnet/v2/pkg/netpoll.(*Poller).AddRead"}},
		{"syscalls: close", []string{"internal/runtime/syscall/linux.Syscall6", "syscall.Syscall", "golang.org/x/sys/unix.Close", "github.com/panjf2000/gnet/v2.(*conn).close"}},
		{"syscalls: sockopt", []string{"internal/runtime/syscall/linux.Syscall6", "syscall.Syscall6", "syscall.setsockopt", "syscall.SetsockoptInt",
			"internal/poll.(*FD).SetsockoptInt", "net.setNoDelay", "net.newTCPConn", "net.(*TCPListener).accept", "github.com/cliser/cliser/bench/baseline.(*Server).acceptLoop"}},
		{"syscalls: other", []string{"internal/runtime/syscall/linux.Syscall6", "syscall.Syscall", "syscall.Fdatasync", "os.(*File).Sync", "go.etcd.io/bbolt.fdatasync"}},
		{"runtime: GC", []string{"runtime.scanobject", "runtime.gcDrain", "runtime.gcBgMarkWorker.func2", "runtime.systemstack", "runtime.gcBgMarkWorker"}},
		{"runtime: GC", []string{"runtime.gcAssistAlloc", "runtime.deductAssistCredit", "runtime.mallocgc", "github.com/cliser/cliser/registry.(*Registry).RegisterPort"}},
		{"runtime: scavenger", []string{"internal/runtime/syscall/linux.Syscall6", "runtime.sysUnusedOS", "runtime.(*pageAlloc).scavengeOne", "runtime.(*pageAlloc).scavenge", "runtime.bgscavenge"}},
		{"runtime: scheduler", []string{"runtime.futex", "runtime.futexwakeup", "runtime.notewakeup", "runtime.startm", "runtime.wakep", "runtime.ready", "runtime.chansend", "github.com/cliser/cliser/events.(*Log).Push"}},
		{"runtime: scheduler", []string{"internal/runtime/syscall/linux.Syscall6", "runtime.netpoll", "runtime.findRunnable", "runtime.schedule", "runtime.park_m", "runtime.mcall"}},
		{"runtime: other", []string{"runtime.sigprof", "runtime.sighandler", "runtime.sigtramp"}},
		{"gnet", []string{"github.com/panjf2000/gnet/v2/pkg/buffer/elastic.(*RingBuffer).IsEmpty", "github.com/panjf2000/gnet/v2.(*conn).processIO"}},
		{"cliser: registry", []string{"runtime.mallocgc", "runtime.newobject", "github.com/google/btree.(*node[...]).insert", "github.com/cliser/cliser/registry.(*Registry).RegisterPort", "github.com/cliser/cliser/reactor.(*session).onID"}},
		{"cliser: reactor", []string{"internal/runtime/maps.ctrlGroup.matchH2", "runtime.mapaccess1_fast64", "github.com/cliser/cliser/reactor.(*handler).OnTraffic"}},
		{"cliser: events", []string{"crypto/sha256.block", "github.com/cliser/cliser/events.(*writer).commit"}},
		{"cliser: jsonenc", []string{"strconv.AppendInt", "github.com/cliser/cliser/internal/jsonenc.AppendTime", "github.com/cliser/cliser/events.(*writer).encode"}},
		{"cliser: identity", []string{"crypto/sha256.(*Digest).Write", "github.com/cliser/cliser/identity.(*Store).checkID"}},
		{"cliser: admin/metrics", []string{"github.com/prometheus/client_golang/prometheus.(*counter).Inc", "github.com/cliser/cliser/admin.(*Metrics).Registered"}},
		{"cliser: admin/metrics", []string{"runtime.memmove", "github.com/cliser/cliser/admin.(*Metrics).KeepAliveRTT"}},
		{"cliser: logging", []string{"go.uber.org/zap/zapcore.(*ioCore).Write", "github.com/cliser/cliser/reactor.(*session).logClose"}},
		{"cliser: store (bbolt)", []string{"runtime.memmove", "go.etcd.io/bbolt.(*node).write", "github.com/cliser/cliser/registry/logstore.(*Store).flush"}},
		{"floor", []string{"runtime.memmove", "github.com/cliser/cliser/bench/floor.(*handler).OnTraffic", "github.com/panjf2000/gnet/v2.(*conn).processIO"}},
		{"net/http (admin, webhook)", []string{"bufio.(*Writer).Flush", "net/http.(*persistConn).writeLoop"}},
		{"main", []string{"main.main"}},
		{"runtime: other", []string{"runtime.memclrNoHeapPointers", "runtime.goexit"}},
	} {
		assert.Equal(t, c.owner, ownerOf(c.stack), "%v", c.stack)
	}
}

// The floor's profiled bursts, from a real short run: a profile file next
// to the run's, whose owners add up to the whole and include the system
// calls every server makes.
func TestProfiledBurstsOfTheFloor(t *testing.T) {
	set := tiny()
	// ~3000 x 50 µs of the floor's CPU: some 30 samples at 200 Hz, in a
	// burst well inside the keep-alive interval even with the race-built
	// load of this process (2.6 s at load 9, six packages at once).
	set.KeepAlive, set.KeepAliveTimeout = 5*time.Second, 15*time.Second
	set.Burst, set.BurstRounds, set.ProfileRounds = 3000, 1, 1
	prefix := filepath.Join(t.TempDir(), "run")
	res, err := Run(runCtx(t), KindFloor, set, Env{WorkDir: t.TempDir(), FloorBin: testkit.FloorBinary(t), BurstProfilePrefix: prefix})
	require.NoError(t, err)
	assert.Empty(t, res.Problems)
	pb := res.ProfiledBurst
	require.Empty(t, pb.Missing)
	require.NotNil(t, pb.Owners)
	assert.Equal(t, "run-floor-burst.pprof", pb.Profile)
	assert.EqualValues(t, 3000, pb.Handshakes, "the profiled bursts' own handshakes, not the measured ones'")
	assert.EqualValues(t, 3000, res.Burst.Handshakes, "the measured bursts keep their own")
	assert.Positive(t, pb.ServerCPU)
	t.Logf("%d samples, %.3fs of CPU: %v", pb.Owners.Samples, pb.Owners.CPU, pb.Owners.Percent)
	assert.GreaterOrEqual(t, pb.Owners.Samples, int64(10))
	var sum, syscalls float64
	for o, p := range pb.Owners.Percent {
		sum += p
		if strings.HasPrefix(o, "syscalls: ") {
			syscalls += p
		}
	}
	assert.InDelta(t, 100, sum, 0.01)
	assert.Positive(t, syscalls, "%v", pb.Owners.Percent)
	again, err := readBreakdown(prefix + "-floor-burst.pprof")
	require.NoError(t, err, "the merged profile is written as a pprof file")
	assert.Equal(t, pb.Owners.Samples, again.Samples)
}

// readBreakdown reads a CPU profile file and breaks it down by owner; only
// this test reads a profile back from its file, so it lives here.
func readBreakdown(path string) (*Breakdown, error) {
	p, err := readProfile(path)
	if err != nil {
		return nil, err
	}
	return breakdownOf(p)
}

// cliser without the hook would die of the signal: the run does not send
// it, and says why there is no profile.
func TestNoBurstProfileWithoutTheHook(t *testing.T) {
	path, missing := burstProfile(KindCliserEvents, Env{BurstProfilePrefix: "x", CliserBin: testkit.Binary(t)})
	assert.Empty(t, path)
	assert.Contains(t, missing, "-tags cpuprofile")
	path, missing = burstProfile(KindFloor, Env{BurstProfilePrefix: "x"})
	assert.Equal(t, "x-floor-burst.pprof", path)
	assert.Empty(t, missing)
	path, _ = burstProfile(KindFloor, Env{})
	assert.Empty(t, path, "no prefix, no profile")
	_, err := os.Stat("x-floor-burst.pprof")
	assert.True(t, os.IsNotExist(err))
}
