package admin

import (
	"context"
	"errors"
	"net/http"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/registry"
)

// Sentinel errors of the API. Each maps to one HTTP status (statusOf), so a
// plain-method caller and an HTTP caller see the same verdict.
var (
	// ErrBadRequest: a query parameter, path value or body is malformed;
	// the wrapping error says which and what is accepted.
	ErrBadRequest = errors.New("bad request")
	// ErrTooLarge: a request body over maxBody.
	ErrTooLarge = errors.New("request body too large")
	// ErrUnauthorized: the bearer token is missing or wrong.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrDraining: the server is not accepting clients (starting or
	// draining), so commands to clients are refused (registry.ErrDraining).
	ErrDraining = registry.ErrDraining
	// ErrNotFound: no such client (or, for commands, not connected); the
	// registry's own sentinels are mapped the same way.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: the node that holds the client (cluster mode) could
	// not be reached in time; try again (registry.ErrUnavailable).
	ErrUnavailable = registry.ErrUnavailable
)

// The 404s of a part this server runs without.
var (
	// ErrNoIdentity: the server was built without fleet identity.
	ErrNoIdentity = &requestError{msg: "credentials and bans are not enabled on this server", base: ErrNotFound}
	// errNoEvents: this server keeps no event log (GET /v1/events and
	// friends).
	errNoEvents = notFound("this server keeps no event log (--event-retention 0)")
)

// statusClientClosed is nginx's 499, "client closed request": its
// answer reaches no one, but cliser_admin_requests_total says who ended
// the request. A long-poll left by its client counted as a 500, a server
// fault (regression audit).
const statusClientClosed = 499

// statusOf maps an API error to its HTTP status.
func statusOf(err error) int {
	switch {
	case errors.Is(err, context.Canceled):
		return statusClientClosed
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, ErrDraining), errors.Is(err, ErrUnavailable), errors.Is(err, events.ErrUnavailable),
		errors.Is(err, events.ErrFileCut):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrNotFound), errors.Is(err, registry.ErrNotFound), errors.Is(err, registry.ErrNotConnected):
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

// requestError is a client mistake with a message that says what to fix.
type requestError struct {
	msg  string
	base error
}

func (e *requestError) Error() string { return e.msg }
func (e *requestError) Unwrap() error { return e.base }

func badRequest(msg string) error {
	return &requestError{msg: msg, base: ErrBadRequest}
}

func notFound(msg string) error {
	return &requestError{msg: msg, base: ErrNotFound}
}
