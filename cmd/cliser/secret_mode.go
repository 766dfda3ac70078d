package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/natsurl"
)

// warnOpenSecretFile logs one warning when the server's file of secrets
// (flag names it) is open to its group or other users. A warning, not the
// agent's refusal (agent_secret.go): a server's log is read, and a
// container's secret mount is often 0644 with nobody else on the host to
// read it. An unreadable file is the loader's to report.
func warnOpenSecretFile(log *zap.Logger, flag, file string) {
	if mode, open := openToOthers(file); open {
		log.Warn(flag+" may be read by other users of this host: chmod 600 it (owner read/write only)",
			zap.String("file", file), zap.String("mode", mode))
	}
}

// openToOthers reports whether file's group or other users have any
// access to it, with its mode as "0644"; false for no file or one that
// cannot be read (the loader's to report).
func openToOthers(file string) (string, bool) {
	if file == "" {
		return "", false
	}
	st, err := os.Stat(file)
	if err != nil {
		return "", false
	}
	mode := st.Mode().Perm()
	return fmt.Sprintf("%04o", mode), mode&0o077 != 0
}

// warnOpenDataDir logs one warning when --data-dir may be written by other
// users, or by a group the process is not in, or the directory that holds
// it by other users (a sticky one, as /tmp, excepted: others cannot rename
// what is not theirs there). They could replace the registry, the
// credentials and the bans, or plant a link at a temporary file's name
// that the server then writes through. A group of its own is not asked
// of: a Kubernetes volume with fsGroup is group-writable for the pod's
// own group, and under a umask of 002 (user private groups) every dir a
// person makes is, for a group of that person alone. A warning, as for
// secret files: a container's volume is often 0777 with nobody else on
// the host.
func warnOpenDataDir(log *zap.Logger, dir string) {
	if dir == "" {
		return
	}
	for i, d := range []string{dir, filepath.Dir(filepath.Clean(dir))} {
		st, err := os.Stat(d)
		if err != nil || i == 1 && st.Mode()&os.ModeSticky != 0 {
			continue
		}
		mode := st.Mode().Perm()
		if mode&0o002 != 0 || i == 0 && mode&0o020 != 0 && !ownGroup(st) {
			log.Warn("--data-dir may be written by other users of this host, who could replace its files or plant links the server writes through: chmod go-w it",
				zap.String("dir", d), zap.String("mode", fmt.Sprintf("%04o", mode)))
			return
		}
	}
}

// ownGroup reports whether fi's group is one the process runs in (its
// group or a supplementary one).
func ownGroup(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	if int(st.Gid) == os.Getgid() {
		return true
	}
	groups, _ := os.Getgroups()
	return slices.Contains(groups, int(st.Gid))
}

// urlSecretFlags is the URL flags whose value holds a secret: a user and
// password or a token in --cluster's URLs, those or a query (?token=) in
// --webhook-url's. onLine: given on the command line, which any user of
// the host reads (ps, /proc/PID/cmdline, mode 0444); inFile: from the
// config file, which its mode may open to others (warnOpenConfig). From
// the environment they are neither.
func urlSecretFlags(fs *pflag.FlagSet, from settingSources) (onLine, inFile []string) {
	for _, name := range []string{"cluster", "webhook-url"} {
		f := fs.Lookup(name)
		if f == nil || !f.Changed || !urlHoldsSecret(name, f.Value.String()) {
			continue
		}
		switch {
		case from[name] == "":
			onLine = append(onLine, name)
		case strings.HasPrefix(from[name], configSource):
			inFile = append(inFile, name)
		}
	}
	return onLine, inFile
}

// urlHoldsSecret says whether a value of the URL flag name carries user
// info, or for --webhook-url a query.
func urlHoldsSecret(name, value string) bool {
	for _, raw := range strings.Split(value, ",") {
		parse := url.Parse
		if name == "cluster" {
			// As nats.go reads it: a bare u:p@host:4222 or
			// token@host:4222 is nats:// with that user info.
			parse = natsurl.Parse
		}
		u, err := parse(strings.TrimSpace(raw))
		if err == nil && (u.User != nil || name == "webhook-url" && u.RawQuery != "") {
			return true
		}
	}
	return false
}

// warnOpenConfig logs one warning when the config file holds a URL with a
// secret (flags names its keys) and its group or other users may read it.
func warnOpenConfig(log *zap.Logger, file string, flags []string) {
	if mode, open := openToOthers(file); open && len(flags) > 0 {
		log.Warn("--config may be read by other users of this host and holds a password or token in a URL: chmod 600 it (owner read/write only)",
			zap.String("file", file), zap.Strings("keys", flags), zap.String("mode", mode))
	}
}

// warnSecretFlags logs a warning for each flag urlSecretFlags found,
// naming the flag, never its value.
func warnSecretFlags(log *zap.Logger, flags []string) {
	for _, name := range flags {
		log.Warn("--"+name+" holds a password or token on the command line, which other users of this host may read (ps, /proc/PID/cmdline): give it as "+
			envName(name)+" instead (a process's environment is readable by its own user only)", zap.String("flag", "--"+name))
	}
}
