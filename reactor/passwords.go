package reactor

// SetPasswords replaces the accepted shared passwords, for a reload on
// SIGHUP. Connections already past their password keep going; the next
// password checked is checked against the new set. An empty set fails
// with ErrNoPassword (and keeps the current one) unless the identity
// requires a credential of every client. Safe from any goroutine: the
// loops read the set through an atomic pointer (secretset), so a swap
// never waits for them and never stops them.
func (srv *Server) SetPasswords(pw [][]byte) error {
	if len(pw) == 0 && !srv.opts.identity.RequireCredentials() {
		return ErrNoPassword
	}
	srv.auth.Replace(pw)
	return nil
}
