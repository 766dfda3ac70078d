package main

import (
	"os"
)

// rereadable refuses to read file (flag names it) again when it is a
// named pipe (a FIFO, or a shell's <(...), /dev/fd/N): read once at
// start, as `sops exec-file` and process substitution serve it, a second
// open waits for a writer that never comes, and with it whoever reads.
// A SIGHUP reload hung there, and every SIGHUP after it was dropped
// without a line or a count; an agent stopped trying to connect and
// ignored SIGTERM. Refused, the reload fails as any other does (counted,
// the secrets in force kept), and the agent keeps the password it read.
// A file that does not stat is the loader's to report.
func rereadable(flag, file string) error {
	if file == "" {
		return nil
	}
	st, err := os.Stat(file)
	if err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		return nil
	}
	return configErrorf("%s %s is a named pipe: it is read once, at start; read again it would wait for a writer "+
		"without end, so it is not: give a regular file to have it read again, or restart to read the pipe anew", flag, file)
}
