package harness

import (
	"fmt"
	"time"
)

// startShutdownSched reads the server's and the load's scheduler times
// before the order; the function it returns reads them again and gives
// the window's account, ended at the call.
func (r *runner) startShutdownSched() func(t0 time.Time) *ShutdownSched {
	pids := r.fleet.PIDs()
	srv0, load0 := schedOfPIDs([]int{r.srv.PID()}), schedOfPIDs(pids)
	return func(t0 time.Time) *ShutdownSched {
		return &ShutdownSched{SeenMS: float64(time.Since(t0)) / 1e6,
			Server: schedOfPIDs([]int{r.srv.PID()}).Sub(srv0), Load: schedOfPIDs(pids).Sub(load0)}
	}
}

// shutdownWhy says, from the scheduler's account of the window up to the
// last ack, how much CPU the server and the load used and waited for, and
// sets the floor's beside it: the acks are the load's work as much as the
// server's, on cores they share.
func shutdownWhy(c, floor *Result, cores int) string {
	s := sdAccount(KindCliser, c, cores)
	if s == "" {
		return unexplained
	}
	if f := sdAccount(KindFloor, floor, cores); f != "" {
		s += "; " + f
	}
	return s
}

// sdAccount is one run's shutdown account, or "" when it has none.
func sdAccount(name string, r *Result, cores int) string {
	if r == nil || r.Shutdown.ToAcks == nil {
		return ""
	}
	a := r.Shutdown.ToAcks
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	return fmt.Sprintf("%s: last 130 ok at %.1f ms, every ack seen at %.1f ms (%d cores: %.0f ms of CPU in that window); in it the server ran %.0f ms and waited %.0f ms for a CPU, the load processes ran %.0f ms and waited %.0f ms",
		name, r.Shutdown.LastAck, a.SeenMS, cores, float64(cores)*a.SeenMS, ms(a.Server.Run), ms(a.Server.Wait), ms(a.Load.Run), ms(a.Load.Wait))
}
