package harness

import "time"

// holdSample is what the hold reads at its start and its end: the server,
// the load processes, the machine's busy time, and the scheduler's times
// of server and load (their runqueue wait is what the hold reports).
type holdSample struct {
	srv, load           procSample
	machine             time.Duration
	srvSched, loadSched SchedTime
}

func (r *runner) sampleHold() (holdSample, error) {
	p, err := sampleProc(r.srv.PID())
	if err != nil {
		return holdSample{}, err
	}
	return holdSample{srv: p, load: sampleAll(r.fleet.PIDs()), machine: busyOrZero(),
		srvSched: schedOfPIDs([]int{r.srv.PID()}), loadSched: schedOfPIDs(r.fleet.PIDs())}, nil
}
