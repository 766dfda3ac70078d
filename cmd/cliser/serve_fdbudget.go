package main

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/reactor"
)

// fdBudget is how `cliser serve` splits the open-files limit: protocol
// connections (--max-connections), the admin listener's cap
// (--admin-max-connections) and a fixed reserve for everything else.
type fdBudget struct {
	limit    int // RLIMIT_NOFILE; 0: not known or too large to matter
	reserve  int // reactor.FDReserve + the admin cap
	maxConns int // what --max-connections comes to
}

// fitDescriptors checks --max-connections against the open-files limit
// before anything is opened, or derives it when it is 0 (the default).
// A ceiling that does not fit is refused, not clamped: a server that
// quietly accepts fewer clients than its operator configured is found
// out only on the day the fleet grows, and over the limit gnet's acceptor
// fails on EMFILE and stops the whole engine.
func (cfg *serveConfig) fitDescriptors() (fdBudget, error) {
	b := fdBudget{reserve: reactor.FDReserve}
	if cfg.adminListen != "off" {
		b.reserve += cfg.adminMaxConns
	}
	limit, known := reactor.OpenFilesLimit()
	if !known {
		b.maxConns = cfg.maxConns
		if b.maxConns == 0 {
			b.maxConns = 1 << 20
		}
		return b, nil
	}
	b.limit = limit
	room := limit - b.reserve
	switch {
	case room < 1: // with --max-connections too: "at most 0" and "lower it" could not help
		return b, configErrorf("the open-files limit %d leaves no descriptor for clients: cliser keeps %d "+
			"(%d for listeners, store and logs, %d for --admin-max-connections); %s",
			limit, b.reserve, reactor.FDReserve, b.reserve-reactor.FDReserve, noRoomFix(limit, b.reserve))
	case cfg.maxConns == 0:
		b.maxConns = room
	case cfg.maxConns > room:
		return b, configErrorf("--max-connections %d does not fit the open-files limit %d: cliser keeps %d "+
			"descriptors besides clients (%d for listeners, store and logs, %d for --admin-max-connections), "+
			"so at most %d; raise the limit (ulimit -n, systemd LimitNOFILE=) or lower --max-connections",
			cfg.maxConns, limit, b.reserve, reactor.FDReserve, b.reserve-reactor.FDReserve, room)
	default:
		b.maxConns = cfg.maxConns
	}
	return b, nil
}

// noRoomFix is what to do about a limit that leaves no room, in figures
// that work: with the admin API on it said "above 256" under a limit of
// 256, and 257 failed again (ops audit). Lowering --admin-max-connections
// helps only while the fixed reserve fits.
func noRoomFix(limit, reserve int) string {
	raise := fmt.Sprintf("raise the limit (ulimit -n, systemd LimitNOFILE=) above %d", reserve)
	switch {
	case reserve == reactor.FDReserve: // the admin API off
		return fmt.Sprintf("%s: the %d kept for listeners, store and logs alone do not fit", raise, reactor.FDReserve)
	case limit <= reactor.FDReserve:
		return fmt.Sprintf("%s, or above %d with a lower --admin-max-connections", raise, reactor.FDReserve)
	}
	return fmt.Sprintf("%s, or lower --admin-max-connections to %d or less", raise, limit-reactor.FDReserve-1)
}

func (b fdBudget) log(log *zap.Logger) {
	log.Info("descriptor budget", zap.Int("open_files_limit", b.limit), zap.Int("max_connections", b.maxConns),
		zap.Int("reserved", b.reserve))
}

// errEngineDied is why serve exits 1 when gnet stopped on its own.
var errEngineDied = errors.New("the protocol engine stopped on its own (gnet's error is in the log); " +
	"exiting so that a supervisor restarts cliser")

// awaitStop waits for SIGINT/SIGTERM (nil) or for the protocol engine to
// die under the server (errEngineDied): then the port refuses clients for
// good, and a process that kept running would only look healthy.
func awaitStop(ctx context.Context, n *node.Node, log *zap.Logger) error {
	select {
	case <-ctx.Done():
		return nil
	case <-n.Exited():
		log.Error("protocol engine stopped: every client was dropped and the port refuses connections; " +
			"writing the registry and exiting 1 so that a supervisor restarts cliser")
		return errEngineDied
	}
}
