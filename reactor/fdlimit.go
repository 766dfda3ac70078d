package reactor

import (
	"go.uber.org/zap"
)

// followLimit reads the open-files limit again and sets the ceiling in
// force to --max-connections, or to the limit less the reserve when that
// is less. A limit lowered under the running process (prlimit --pid) was
// not seen: the next accept past it failed EMFILE, which stops gnet's
// whole engine, and every client went with it (signals audit). Now the
// surplus gets `190 server full` while the descriptors the reserve keeps
// still take the accepts. A limit below what is already open can not be
// helped so: nothing cliser does frees descriptors its clients hold.
// A ceiling lowered to what is open or less is full at once, and one
// raised again has room at once: the note followed the next refusal and
// the next close (code audit). Ticker goroutine only (OnTick, once a
// second).
func (h *handler) followLimit() {
	want := int64(h.opts.maxConns)
	limit, known := OpenFilesLimit()
	if known {
		want = min(want, max(int64(limit-h.opts.fdReserve), 0))
	}
	was := h.ceil.Swap(want)
	switch {
	case want == was:
	case want < int64(h.opts.maxConns):
		h.log.Warn("open-files limit lowered under the running server: the connection ceiling follows it; "+
			"new connections past it get `190 server full` (restart cliser to count its descriptor budget anew)",
			zap.Int("open_files_limit", limit), zap.Int64("max_connections", want), zap.Int("configured", h.opts.maxConns),
			zap.Int64("open", h.conns.Load()))
		if h.conns.Load() >= want && h.ceiling.fill() {
			h.ceiling.logged.Store(true) // by the line above
		}
	default:
		h.log.Info("open-files limit allows the configured connection ceiling again", zap.Int("open_files_limit", limit),
			zap.Int64("max_connections", want))
	}
	if want > was {
		h.ceiling.closed(h.conns.Load(), int(want), h.log)
	}
}
