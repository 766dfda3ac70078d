package harness

import (
	"syscall"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// NATSWork is what the embedded nats-server did over the ramp and the
// settle: the messages it took in and sent out (publishes, their
// acknowledgements, every watch's deliveries, the event log's), per
// registration, and this process's CPU, which is the server's (the
// harness itself only polls the nodes meanwhile).
type NATSWork struct {
	InMsgs      int64         `json:"in_msgs"`
	OutMsgs     int64         `json:"out_msgs"`
	InPerReg    float64       `json:"in_msgs_per_registration"`
	OutPerReg   float64       `json:"out_msgs_per_registration"`
	CPU         time.Duration `json:"cpu"`
	CPUPerRegUS float64       `json:"cpu_us_per_registration"`
}

type natsWork struct {
	ns      *natsserver.Server
	in, out int64
	cpu     time.Duration
}

func startNATSWork(ns *natsserver.Server) *natsWork {
	w := &natsWork{ns: ns, cpu: processCPU()}
	if v, err := ns.Varz(nil); err == nil {
		w.in, w.out = v.InMsgs, v.OutMsgs
	}
	return w
}

// done is the work since start, over registrations.
func (w *natsWork) done(registrations int64) NATSWork {
	r := NATSWork{CPU: processCPU() - w.cpu}
	if v, err := w.ns.Varz(nil); err == nil {
		r.InMsgs, r.OutMsgs = v.InMsgs-w.in, v.OutMsgs-w.out
	}
	if registrations > 0 {
		n := float64(registrations)
		r.InPerReg, r.OutPerReg = float64(r.InMsgs)/n, float64(r.OutMsgs)/n
		r.CPUPerRegUS = float64(r.CPU.Microseconds()) / n
	}
	return r
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
