package reactor

import (
	"syscall"

	"github.com/panjf2000/gnet/v2"
)

// FDReserve is the part of the open-files limit that `cliser serve` keeps
// out of --max-connections for everything but protocol connections: the
// listeners, gnet's pollers and event fds, the store, logs, the runtime,
// and the connection each loop has accepted but not yet opened (one a
// loop: each accepts for itself, WithReusePort). The
// admin listener's cap comes on top of it. gnet v2's acceptor treats an
// accept error other than EAGAIN, EINTR, ECONNRESET or ECONNABORTED
// (EMFILE among them) as fatal and stops the whole engine, so cliser must
// refuse clients with "190 server full" well before the process runs out
// of descriptors.
const FDReserve = fdReserve

// OpenFilesLimit is the process's soft limit on open files
// (RLIMIT_NOFILE), and false when it cannot be read or is too large to
// matter. Safe from any goroutine.
func OpenFilesLimit() (int, bool) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur > 1<<30 {
		return 0, false
	}
	return int(lim.Cur), true
}

// OnShutdown runs when gnet's engine begins to stop, whether Stop asked
// for it or not: gnet also stops on its own, on an accept or poller
// error. From then on the server is not alive.
func (h *handler) OnShutdown(gnet.Engine) { h.engineDown.Store(true) }

// Alive reports whether the protocol engine runs or is being stopped by
// Stop: false before Start, and for good once gnet stopped its engine on
// its own (see Exited). A draining server is still alive; it is not
// ready. Safe from any goroutine.
func (srv *Server) Alive() bool {
	select {
	case <-srv.booted:
		return !srv.engineDown.Load() || srv.draining.Load()
	default:
		return false
	}
}

// Exited is closed once gnet's engine has stopped and its loops are gone.
// Closed before Stop was called, it means the engine died under the
// server (gnet logged why): the process no longer serves clients and
// should exit so that a supervisor restarts it. Safe from any goroutine.
func (srv *Server) Exited() <-chan struct{} { return srv.stopped }

// Stopping reports whether Stop has been called. Safe from any goroutine.
func (srv *Server) Stopping() bool { return srv.draining.Load() }
