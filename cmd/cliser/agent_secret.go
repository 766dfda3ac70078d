package main

import (
	"os"
)

// checkSecretFileMode refuses an agent's secret file (flag names it: the
// --password-file, the --tls-key) that its group or other users may read
// or write: it holds the device's own secret, and anyone who reads it can
// be that device. The
// agent refuses rather than warns, because a warning in a device's log is
// read by nobody; the message says the fix.
func checkSecretFileMode(flag, file string) error {
	st, err := os.Stat(file)
	if err != nil {
		return configErrorf("%s: %v", flag, err)
	}
	if st.IsDir() { // before its mode: chmod 600 on a directory mended nothing (agent audit)
		return configErrorf("%s %s is a directory: give the file that holds the secret", flag, file)
	}
	if mode := st.Mode().Perm(); mode&0o077 != 0 {
		return configErrorf("%s %s is mode %04o: others may read the secret; chmod 600 %s (owner read/write only)", flag, file, mode, file)
	}
	return nil
}
