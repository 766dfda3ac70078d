package main

import (
	"fmt"
	"os"

	"go.uber.org/zap"
)

// warnOpenSecretFile logs one warning when the server's file of secrets
// (flag names it) is open to its group or other users. A warning, not the
// agent's refusal (agent_secret.go): a server's log is read, and a
// container's secret mount is often 0644 with nobody else on the host to
// read it. An unreadable file is the loader's to report.
func warnOpenSecretFile(log *zap.Logger, flag, file string) {
	if file == "" {
		return
	}
	st, err := os.Stat(file)
	if err != nil {
		return
	}
	if mode := st.Mode().Perm(); mode&0o077 != 0 {
		log.Warn(flag+" may be read by other users of this host: chmod 600 it (owner read/write only)",
			zap.String("file", file), zap.String("mode", fmt.Sprintf("%04o", mode)))
	}
}
