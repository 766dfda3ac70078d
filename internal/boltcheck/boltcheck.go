// Package boltcheck opens a bbolt file of the data dir so that damage is
// an error at start, not a crash: bbolt panics on some damaged pages
// ("Page expected to be: 4") and faults the process (SIGBUS) on a page id
// past the end of a truncated file. The registry's logstore, the identity
// store, the event log and the webhook's webhook.db of earlier builds all
// open their files through it.
package boltcheck

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

var (
	// ErrDamaged marks a file that cannot be trusted (Refusal's default).
	ErrDamaged = errors.New("data file damaged")
	// ErrPanicked marks an error that was a panic inside bbolt (Guard).
	ErrPanicked = errors.New("bbolt failed reading it")
)

// maxCheckErrors is how many of tx.Check's findings an error quotes.
const maxCheckErrors = 3

// Open opens path with bo, checking its meta pages against its size first
// and turning a panic inside bbolt into an error. With check, every page
// is read (tx.Check): for a file read whole at start anyway. An error
// about the file's content is refuse's answer to its cause (a Refusal);
// the lock and the OS's errors pass through.
func Open(path string, mode os.FileMode, bo *bolt.Options, check bool, refuse func(cause error) error) (*bolt.DB, error) {
	if err := checkMetas(path); err != nil {
		return nil, refuse(err)
	}
	var db *bolt.DB
	err := Guard(func() error {
		var err error
		db, err = bolt.Open(path, mode, bo)
		return err
	})
	var pathErr *fs.PathError
	var errno syscall.Errno
	switch {
	case err == nil:
	case errors.Is(err, bolterrors.ErrTimeout), errors.As(err, &pathErr), errors.As(err, &errno):
		return nil, err
	default:
		return nil, refuse(err)
	}
	if !check {
		return db, nil
	}
	err = Guard(func() error {
		return db.View(func(tx *bolt.Tx) error {
			var found []error
			for err := range tx.Check() {
				if len(found) < maxCheckErrors {
					found = append(found, err)
				}
			}
			return errors.Join(found...)
		})
	})
	if err != nil {
		_ = Guard(db.Close)
		return nil, refuse(err)
	}
	return db, nil
}

// Named is err, an Open of path that failed, with path in it once: the
// OS's errors name it already ("open X: permission denied"), and a
// caller's "open X: " before them read "open X: open X: ...".
func Named(path string, err error) error {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) && pathErr.Path == path {
		return err
	}
	return fmt.Errorf("open %s: %w", path, err)
}

// Refusal is the refusal of a damaged file, wrapping kind (ErrDamaged or
// a store's own): it names the file and says what an operator does about
// it and what that costs ("with no credentials and no bans"), since the
// process will not start until someone does.
func Refusal(kind error, path string, cause error, cost string) error {
	why := strings.ReplaceAll(cause.Error(), "panic: ", "") // tx.Check's, read as a crash
	return fmt.Errorf("%w: %s (%s); cliser will not start on it: move it away "+
		"(mv %s %s.damaged) to start %s, or put back a backup of it",
		kind, path, why, path, path, cost)
}

// Guard runs fn and turns a panic inside it into an error wrapping
// ErrPanicked. bbolt panics, rather than failing, on some damaged pages
// ("invalid freelist page", "page N already freed", "Page expected to
// be: 5"): on a corrupt file that is a clean refusal, not a Go stack.
func Guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrPanicked, r)
		}
	}()
	return fn()
}

const (
	boltMagic      = 0xED0CDAED
	metaMagicAt    = 16 // after the page header
	metaPageSizeAt = 24
	metaFreelistAt = 48
	metaHighAt     = 56
	noFreelist     = ^uint64(0)
)

// checkMetas refuses a file whose meta pages name pages it does not hold:
// bbolt reads the freelist and the root straight from its map, and a page
// id past the end of a truncated file faults the process (not a panic
// Guard could recover). A missing or empty file passes (bbolt creates or
// initialises it). It reads only the two metas.
func checkMetas(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil // bbolt reports it
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return nil
	}
	size := uint64(fi.Size())
	pageSize := uint64(os.Getpagesize())
	for i := range 2 {
		at := uint64(i) * pageSize
		m := make([]byte, metaHighAt+8)
		if at+uint64(len(m)) > size {
			continue
		}
		if _, err := f.ReadAt(m, int64(at)); err != nil {
			return nil
		}
		if binary.LittleEndian.Uint32(m[metaMagicAt:]) != boltMagic {
			continue
		}
		if i == 0 {
			pageSize = uint64(binary.LittleEndian.Uint32(m[metaPageSizeAt:]))
			if pageSize < 512 {
				return errors.New("meta page 0 gives an impossible page size")
			}
		}
		high := binary.LittleEndian.Uint64(m[metaHighAt:])
		free := binary.LittleEndian.Uint64(m[metaFreelistAt:])
		if high > size/pageSize {
			return fmt.Errorf("meta page %d counts %d pages but the file holds %d (truncated?)", i, high, size/pageSize)
		}
		if free != noFreelist && free >= high {
			return fmt.Errorf("meta page %d puts the freelist at page %d, past its %d pages", i, free, high)
		}
	}
	return nil
}
