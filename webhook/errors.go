package webhook

import "errors"

// Sentinel errors of the package.
var (
	// ErrNoSecret: a webhook without a signing secret is refused, since a
	// receiver could not tell cliser's requests from anyone's.
	ErrNoSecret = errors.New("webhook: no signing secret: set CLISER_WEBHOOK_SECRET=whsec_<base64> (several space-separated for rotation), or --webhook-secret-file FILE")
	// ErrBadSecret: a secret is not whsec_ followed by standard base64 of
	// a key. The message never contains the secret.
	ErrBadSecret = errors.New("webhook: a signing secret must be whsec_ followed by the standard base64 of its key (24 to 64 random bytes)")
	// ErrBadURL: the endpoint is not an absolute http or https URL with
	// a host to reach.
	ErrBadURL = errors.New("webhook: the URL must be absolute, http:// or https://, with a host name and, if any, a port from 1 to 65535")
	// ErrDisabled: the receiver answered 410 Gone; delivery stops until
	// the process restarts.
	ErrDisabled = errors.New("webhook: disabled by a 410 Gone from the receiver")
)
