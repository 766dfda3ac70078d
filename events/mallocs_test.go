package events

import (
	"runtime"

	"go.uber.org/zap"
)

// mallocTries is how often leastMallocs counts: an allocation the code
// under test makes shows in every try, while the process's own background
// work (the runtime's timers, nats-server's pse sampling each second)
// lands in a window now and then, more often on a loaded machine.
const mallocTries = 5

// leastMallocs is the fewest heap allocations, over mallocTries fresh
// tries, that measured (made by try, which sets its state up first) does.
// MemStats counts the whole process, so one window alone is not the code's.
func leastMallocs(try func() (measured func())) uint64 {
	least := ^uint64(0)
	for range mallocTries {
		measured := try()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		measured()
		runtime.ReadMemStats(&m1)
		least = min(least, m1.Mallocs-m0.Mallocs)
	}
	return least
}

// pushMallocs counts (leastMallocs) what 2 blocks' pushes of ev make on a
// queue that has spare blocks from 3 blocks' pushes before.
func pushMallocs(ev Event) uint64 {
	return leastMallocs(func() func() {
		q := newQueue(1<<20, newMetrics(), zap.NewNop())
		for range 3 * blockSize { // blocks to reuse
			q.push(ev)
		}
		q.release(q.takeBlocks(nil, 1<<20))
		return func() {
			for range 2 * blockSize {
				q.push(ev)
			}
		}
	})
}
