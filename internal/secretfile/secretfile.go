// Package secretfile reads the files that hold secrets: the password
// file (server and agent), the admin token files (server and CLI) and the
// webhook secret file. All of them are read here, so that what is taken
// from such a file is the same wherever it is read.
package secretfile

import (
	"bytes"
	"os"
)

// bom is the UTF-8 byte-order mark that Windows editors (Notepad's
// "UTF-8 with BOM") write at the start of a file.
var bom = []byte{0xEF, 0xBB, 0xBF}

// Read is the content of file less a leading UTF-8 byte-order mark. Kept,
// the mark became the first three bytes of the first secret: a password
// no client sends, a token no caller holds, refused without a word of why.
func Read(file string) ([]byte, error) {
	raw, err := os.ReadFile(file)
	return bytes.TrimPrefix(raw, bom), err
}
