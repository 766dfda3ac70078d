package node

import (
	"errors"
	"fmt"
)

// Sentinel errors of the node package.
var (
	// ErrStarted: Start was called twice, or after Shutdown.
	ErrStarted = errors.New("node: already started")
	// ErrConfig marks an error that the operator fixes in the
	// configuration (no data dir for the event log, a webhook URL the
	// deliverer refuses, a data dir that is a file; a data file that will
	// not open is not one: it exits 1, as damage does): `cliser serve`
	// exits 2 on it. Test it with errors.Is.
	ErrConfig = errors.New("node: configuration")
)

// configError is an ErrConfig whose message is only what to fix.
type configError struct{ msg string }

func (e *configError) Error() string        { return e.msg }
func (e *configError) Is(target error) bool { return target == ErrConfig }

func configErrorf(format string, args ...any) error {
	return &configError{msg: fmt.Sprintf(format, args...)}
}
