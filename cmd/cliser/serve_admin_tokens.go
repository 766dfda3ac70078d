package main

import (
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/cliser/cliser/internal/secretfile"
)

// The admin API's tokens: CLISER_ADMIN_TOKEN and the lines of
// --admin-token-file, all accepted. The file is read again on SIGHUP, so
// a token is rotated (add the new line, HUP, move the tools, drop the old
// line, HUP) without a restart, which would have every client reconnect.

func addAdminTokenFlags(f *pflag.FlagSet, cfg *serveConfig) {
	f.StringVar(&cfg.adminTokenFile, "admin-token-file", "",
		"file of admin API bearer tokens, one a line (besides CLISER_ADMIN_TOKEN); read again on SIGHUP")
}

// adminToken is CLISER_ADMIN_TOKEN without the spaces and line ends around
// it: a token kept in a file usually ends in a newline, and the server
// trims what a client sends, so an untrimmed setting could never match.
// The bool is false when what is left cannot be sent in a header at all.
func adminToken() (string, bool) {
	tok := strings.TrimSpace(os.Getenv("CLISER_ADMIN_TOKEN"))
	return tok, bearerWord(tok)
}

// bearerWord reports whether tok can be sent as a bearer token: printable
// characters, no space.
func bearerWord(tok string) bool {
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c < 0x21 || c == 0x7f {
			return false
		}
	}
	return true
}

// loadAdminTokens is CLISER_ADMIN_TOKEN's token, when set, and file's
// (one a line; empty lines skipped). A file named is a promise of a
// token: one without any is a mistake. Errors never hold a token.
func loadAdminTokens(file string) ([]string, error) {
	var out []string
	if raw := os.Getenv("CLISER_ADMIN_TOKEN"); raw != "" && strings.TrimSpace(raw) == "" {
		// Taken as no token, it ran the API open without a word (audit):
		// "$(cat file)" of an emptied file and a stray space.
		return nil, configErrorf("CLISER_ADMIN_TOKEN is set but holds no token (only spaces or line ends): set the token, or unset the variable to run the admin API without one")
	}
	if tok, ok := adminToken(); !ok {
		return nil, configErrorf("CLISER_ADMIN_TOKEN holds a space or a control character: a bearer token is one word of printable characters")
	} else if tok != "" {
		out = append(out, tok)
	}
	if file == "" {
		return out, nil
	}
	toks, err := readTokenFile("--admin-token-file", file)
	if err != nil {
		return nil, err
	}
	return append(out, toks...), nil
}

// readTokenFile reads the tokens of file, which setting names: the
// server's and the CLI's files are one kind.
func readTokenFile(setting, file string) ([]string, error) {
	raw, err := secretfile.Read(file)
	if err != nil {
		return nil, configErrorf("%s: %v", setting, err)
	}
	return adminTokenLines(setting+" "+file, raw)
}

// adminTokenLines are the tokens of raw, the token file that name (the
// setting and the path) gives: its lines less the spaces around them,
// empty ones skipped. A line that is not one bearer word, or a file with
// none, is refused, by line number.
func adminTokenLines(name string, raw []byte) ([]string, error) {
	var out []string
	for i, line := range strings.Split(string(raw), "\n") {
		tok := strings.TrimSpace(line)
		if tok == "" {
			continue
		}
		if !bearerWord(tok) {
			return nil, configErrorf("%s line %d holds a space or a control character: "+
				"a bearer token is one word of printable characters, one a line", name, i+1)
		}
		out = append(out, tok)
	}
	if len(out) == 0 {
		return nil, configErrorf("%s holds no token: put one a line in it (empty lines are skipped)", name)
	}
	return out, nil
}
