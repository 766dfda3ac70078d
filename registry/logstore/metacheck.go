package logstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// bbolt reads the freelist and the root straight from its memory map: a
// page id past the end of a truncated file faults the process (SIGSEGV,
// not a panic that guard could recover). So the metas' page ids are held
// against the file's size before bbolt opens it.

const (
	boltMagic      = 0xED0CDAED
	metaMagicAt    = 16 // after the page header
	metaPageSizeAt = 24
	metaFreelistAt = 48
	metaHighAt     = 56
	noFreelist     = ^uint64(0)
)

// checkMetas refuses a file whose meta pages name pages it does not hold.
// A missing or empty file passes: bbolt creates or initialises it.
func checkMetas(path string) error {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return nil // bbolt reports a read problem itself
	}
	size := uint64(len(b))
	pageSize := uint64(os.Getpagesize())
	for i := range 2 {
		at := uint64(i) * pageSize
		if at+metaHighAt+8 > size {
			continue
		}
		m := b[at:]
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
