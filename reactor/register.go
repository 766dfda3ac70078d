package reactor

import (
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// registryFullLogQuiet spaces the warnings of a full registry: clients
// that retry at the edge are refused many times a minute, each counted
// (cliser_handshakes_total) and sampled among the refusals' lines, but at
// --log-level warn the fleet was turned away without a word.
const registryFullLogQuiet = time.Minute

// register finishes a handshake: the registry hands out a sid, an older
// connection of the same client is told "190 replaced" (takeover: the newest
// wins), and the client gets "140 connected <sid>". Runs on s's loop.
func (srv *Server) register(s *session, cid string) {
	sid, replaced, err := srv.reg.RegisterPort(cid, &s.cip.ip, s.port, s)
	s.handshakeOver()
	if replaced != nil {
		_ = replaced.Close(protocol.ReasonReplaced)
	}
	if err != nil {
		if !errors.Is(err, registry.ErrFull) {
			srv.log.Error("register failed", zap.String("cid", cid), zap.Error(err))
		} else {
			srv.full.refused(time.Now().UnixNano())
			if srv.fullLog.Open(registryFullLogQuiet) {
				srv.log.Warn("registry full: registrations get `190 server full` until clients leave "+
					"(--max-clients; a node holds at most 65,535: add a node)", zap.String("cid", cid))
			}
		}
		s.failWithID(protocol.ReasonServerFull, cid, "")
		return
	}
	s.sid, s.state = sid, registered
	lp := s.lp
	now := lp.now() // after the registry's lock: the first keep-alive counts from the registration
	lp.wbuf = protocol.AppendConnected(lp.wbuf[:0], sid)
	s.write(lp.wbuf)
	lp.wheel.schedule(s, now+int64(srv.opts.keepInterval))
	srv.opts.observer.Handshake(protocol.ReasonNone)
	// Check first: below info, the line's fields (a slice on the heap and
	// the port's string) would be built per registration for nothing.
	if ce := srv.log.Check(zap.InfoLevel, "client registered"); ce != nil {
		ce.Write(zap.Uint16("sid", sid), zap.String("cid", cid), zap.String("cip", s.cip.ip), zap.String("cport", s.cport()))
	}
}
