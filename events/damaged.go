package events

import (
	"errors"
	"fmt"

	"go.uber.org/zap"
)

// damaged names the file and the remedy in a read's error when an event
// did not decode (bit rot inside a value: bbolt keeps no checksums, and
// the start reads only each event's cid and the newest sessions). Said
// once in the log: the reader at that seq gets it on every try.
func (l *Log) damaged(err error) error {
	err = l.damagedErr(err)
	if errors.Is(err, ErrCorrupt) && l.damageSaid.CompareAndSwap(false, true) {
		l.opts.log.Error("event log: an event could not be read back", zap.Error(err))
	}
	return err
}

// damagedErr is damaged's error, not logged: for a caller that says it
// itself (ReadUnlogged).
func (l *Log) damagedErr(err error) error {
	if !errors.Is(err, ErrCorrupt) {
		return err
	}
	return fmt.Errorf("%w in %s: the file is damaged (a disk fault): with cliser stopped, move it away (mv %s %s.damaged) "+
		"to start an empty event log whose seqs go on after this one's (events.seq), or put back a backup of it",
		err, l.path, l.path, l.path)
}
