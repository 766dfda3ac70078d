package reactor

import (
	"errors"

	"go.uber.org/zap"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

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
		reason := protocol.ReasonServerFull
		if !errors.Is(err, registry.ErrFull) {
			srv.log.Error("register failed", zap.String("cid", cid), zap.Error(err))
		}
		s.fail(reason)
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
