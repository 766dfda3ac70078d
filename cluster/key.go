package cluster

import "github.com/cliser/cliser/internal/natskey"

// keyOf is id as a bucket key or subject token (see natskey); idOf
// reverses it.
func keyOf(id string) string { return natskey.Escape(id) }

func idOf(key string) (string, error) { return natskey.Unescape(key) }

var errBadKey = natskey.ErrBadKey
