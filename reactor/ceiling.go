package reactor

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/loggate"
	"github.com/cliser/cliser/protocol"
)

// ceilingLogQuiet is how long after a logged filling of the connection
// ceiling further fillings are only counted: clients that retry at the
// edge fill and free it many times a minute.
const ceilingLogQuiet = time.Minute

// ceiling says when the connection ceiling (--max-connections) starts to
// refuse clients, and when it has room again. It was only counted
// (cliser_accept_rejections_total{reason="server full"}): a fleet that
// outgrew the open-files limit was turned away without a line in the log.
type ceiling struct {
	full   atomic.Bool  // refusing since the last "room again"
	since  atomic.Int64 // when this filling's first refusal came (Unix ns)
	logged atomic.Bool  // this filling's warning went out
	gate   loggate.Gate
}

// refuseFull refuses a connection past the ceiling; the first of a
// filling is logged.
func (h *handler) refuseFull() ([]byte, gnet.Action) {
	c := &h.ceiling
	if c.fill() && c.gate.Open(ceilingLogQuiet) {
		c.logged.Store(true)
		h.log.Warn("connection ceiling reached: new connections get `190 server full` until a tenth of it is free again "+
			"(--max-connections; by default the open-files limit less a reserve: raise ulimit -n / LimitNOFILE=)",
			zap.Int64("max_connections", h.ceil.Load()))
	}
	return h.reject(protocol.ReasonServerFull)
}

// fill marks the ceiling full from now, and reports whether it was not.
func (c *ceiling) fill() bool {
	if c.full.Load() {
		return false
	}
	c.since.Store(time.Now().UnixNano())
	return c.full.CompareAndSwap(false, true)
}

// closed notes a connection's close, open being those still open: once
// a tenth of the ceiling (one connection at least) is free again, a
// filling that was logged is said to be over. Below a ceiling of 10 a
// tenth was none: the refused connection's own close ended the filling,
// "room again" was logged at once and the note never showed (late audit).
func (c *ceiling) closed(open int64, max int, log *zap.Logger) {
	if open <= int64(max-roomAgain(max)) && c.full.CompareAndSwap(true, false) && c.logged.Swap(false) {
		log.Info("connection ceiling has room again", zap.Int64("open", open), zap.Int("max_connections", max))
	}
}

// MaxConnections is the connection ceiling in force: WithMaxConns, or
// less while the open-files limit is lowered under the process
// (fdlimit.go). Safe from any goroutine.
func (srv *Server) MaxConnections() int { return int(srv.ceil.Load()) }

// CeilingErr says, while the connection ceiling refuses new connections
// (from the first refusal until a tenth of it is free again), since when:
// a note of /readyz and /v1/health (the dashboard's banner, cliser
// status). Before, they said "ready" and nothing else while every new
// client got "190 server full"; only a counter and one log line a
// minute told. The server stays ready: its clients are served, and the
// ones it refuses retry. Safe from any goroutine.
func (srv *Server) CeilingErr() error {
	c := &srv.ceiling
	if !c.full.Load() {
		return nil
	}
	// "Until some close" read false once a few had: the filling lasts
	// until a tenth is free (scale audit). A ceiling the open-files limit
	// set under the running server is said so: it named --max-connections,
	// which was not the cause (regression audit).
	ceil, whose := srv.ceil.Load(), "--max-connections"
	if ceil < int64(srv.opts.maxConns) {
		whose = fmt.Sprintf("the open-files limit, lowered under the running server, less its reserve; --max-connections %d", srv.opts.maxConns)
	}
	return fmt.Errorf("connections: the connection ceiling (%d, %s) was reached at %s: "+
		"new connections get `190 server full` at the ceiling until a tenth of it (one at least) is free again; %d open now",
		ceil, whose, time.Unix(0, c.since.Load()).UTC().Format(time.RFC3339), srv.conns.Load())
}

// roomAgain is how many connections of a ceiling must be free again for
// a filling to be over: a tenth, one at least.
func roomAgain(ceiling int) int { return max(ceiling/10, 1) }
