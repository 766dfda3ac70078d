package boltkeep

import (
	"errors"
	"fmt"

	"go.uber.org/zap"
)

// ErrCut: the file is shorter than the database open on it (cut while the
// server ran).
var ErrCut = errors.New("file cut under the running server")

// Grown notes the file's size after bbolt opened or wrote it: bbolt grows
// its file and never shrinks it, so a smaller one later was cut (Cut).
// Safe from any goroutine.
func (k *Keeper) Grown() {
	size, err := k.Size()
	if err != nil {
		return
	}
	for {
		old := k.grown.Load()
		if size <= old || k.grown.CompareAndSwap(old, size) {
			return
		}
	}
}

// Cut is nil unless the file was found shorter than it had grown (Grown):
// cut under the running server (truncate, `> file`, a copy over it that
// went wrong). bbolt reads its pages through a memory map, and a page
// past the file's end is a SIGBUS that no recover catches: the next
// transaction killed the process, and every client with it (identity
// audit). Its owner calls Cut before each transaction and runs none once
// it is not nil; the first finding is logged, and Healthy says it from
// then on. Safe from any goroutine.
func (k *Keeper) Cut() error {
	if p := k.cut.Load(); p != nil {
		return *p
	}
	size, err := k.Size()
	grown := k.grown.Load()
	if err != nil || size >= grown {
		return nil
	}
	cut := fmt.Errorf("%s: %w: %s was %d bytes when found, shorter than the %d of the database open on it: it was cut while "+
		"cliser ran; nothing more is written to it or read from it. Stop cliser and put back a backup of it "+
		"(or move it away: a start without it begins with no %s)", k.what, ErrCut, k.path, size, grown, k.holds)
	if k.cut.CompareAndSwap(nil, &cut) {
		k.log.Error(k.what+": its file was cut under the running server", zap.Error(cut))
	}
	return *k.cut.Load()
}

// cutErr is Cut's finding so far, without a look.
func (k *Keeper) cutErr() error {
	if p := k.cut.Load(); p != nil {
		return *p
	}
	return nil
}
