package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/cliser/cliser/admin"
)

// The admin commands' token: --admin-token-file when given, else
// CLISER_ADMIN_TOKEN, else the file CLISER_ADMIN_TOKEN_FILE names. The
// file is the server's own kind (one token a line) and the first token is
// sent: in the server's container the environment that serves `cliser
// serve` serves `cliser clients` too, and mid-rotation (new line added
// below the old) the first still works until it is dropped.

// apiClient is an admin API client that knows where its token came from,
// so that a 401 names the setting to fix.
type apiClient struct {
	*admin.Client
	tokenFrom string        // "" when no token is sent
	timeout   time.Duration // --timeout, for the message of a request that ran out of it
}

func (o *adminFlags) addTokenFlag(f *pflag.FlagSet) {
	f.StringVar(&o.tokenFile, "admin-token-file", "",
		"file whose first token (its first line that is not empty) is the admin token (else CLISER_ADMIN_TOKEN, else the file CLISER_ADMIN_TOKEN_FILE names)")
}

// cliToken is the token to send, where it came from and the file it was
// read from; all "" when there is none. A file that cannot be read, or
// holds no token, is a mistake to fix, not a reason to go on without one.
func cliToken(fileFlag string) (tok, from, file string, err error) {
	if fileFlag != "" {
		return tokenFromFile("--admin-token-file", fileFlag)
	}
	tok, ok := adminToken()
	if !ok {
		return "", "", "", configErrorf("CLISER_ADMIN_TOKEN holds a space or a control character: set it to the server's token, one word")
	}
	if tok != "" {
		return tok, "CLISER_ADMIN_TOKEN", "", nil
	}
	if file := strings.TrimSpace(os.Getenv("CLISER_ADMIN_TOKEN_FILE")); file != "" {
		return tokenFromFile("CLISER_ADMIN_TOKEN_FILE", file)
	}
	return "", "", "", nil
}

// tokenFromFile is the first token of file, named by setting.
func tokenFromFile(setting, file string) (tok, from, path string, err error) {
	toks, err := readTokenFile(setting, file)
	if err != nil {
		return "", "", "", err
	}
	return toks[0], setting + " " + file, file, nil
}

// warnOpenTokenFile says on w that the token's file may be read by the
// host's other users, as the server logs of its own (secret_mode.go): a
// warning, not the agent's refusal, since the person running the command
// reads it and a container's secret mount is often 0644. Before, the CLI
// read such a file without a word.
func warnOpenTokenFile(w io.Writer, from, file string) {
	if mode, open := openToOthers(file); open {
		fmt.Fprintf(w, "cliser: warning: %s (mode %s) may be read by other users of this host: chmod 600 it (owner read/write only)\n", from, mode)
	}
}
