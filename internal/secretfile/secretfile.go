// Package secretfile reads the files that hold secrets: the password
// file (server and agent), the admin token files (server and CLI) and the
// webhook secret file. All of them are read here, so that what is taken
// from such a file is the same wherever it is read.
package secretfile

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// bom is the UTF-8 byte-order mark that Windows editors (Notepad's
// "UTF-8 with BOM") write at the start of a file.
var bom = []byte{0xEF, 0xBB, 0xBF}

// MaxSize is the most a secret file may hold: a password or a token a
// line, thousands of them. Past it the file is refused, not read whole: a
// path given by mistake (a log, a disk image) was read into memory, by
// the agent again at every attempt.
const MaxSize = 1 << 20

// Read is the content of file less a leading UTF-8 byte-order mark. Kept,
// the mark became the first three bytes of the first secret: a password
// no client sends, a token no caller holds, refused without a word of why.
// A file over MaxSize is an error that says so.
func Read(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > MaxSize {
		return nil, fmt.Errorf("%s holds over %d bytes: not a file of secrets (a secret a line)", file, MaxSize)
	}
	return bytes.TrimPrefix(raw, bom), nil
}
