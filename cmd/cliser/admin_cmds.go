package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cliser/cliser/admin"
)

// What every command of the admin API (clients, credentials, bans,
// events, status) shares: where the API is, its flags, the group command
// that owns them, and how an API error is told to the operator.

// defaultAdmin is where the CLI finds the admin API when --admin is not
// given: CLISER_ADMIN, else the server's own CLISER_ADMIN_LISTEN (so that
// the same environment serves `cliser serve` and, in its container,
// `cliser health` and `cliser clients`), else the server's default.
func defaultAdmin() string {
	if v := os.Getenv("CLISER_ADMIN"); v != "" {
		return v
	}
	if v := os.Getenv("CLISER_ADMIN_LISTEN"); v != "" && v != "off" {
		if host, port, err := net.SplitHostPort(v); err == nil {
			switch host {
			case "", "0.0.0.0", "::":
				host = "127.0.0.1"
			}
			return "http://" + net.JoinHostPort(host, port)
		}
	}
	return "http://127.0.0.1:7071"
}

// adminAddr is the API's address for a command whose --admin flag is f,
// and the setting that gave it, for its messages. A CLISER_ADMIN_LISTEN
// the CLI cannot use is a mistake: defaultAdmin passes it over, and the
// command went to the default address and blamed --admin (audit).
func adminAddr(f *pflag.Flag) (addr, from string, err error) {
	addr = f.Value.String()
	if f.Changed {
		return addr, "--admin", nil
	}
	if os.Getenv("CLISER_ADMIN") != "" {
		return addr, "CLISER_ADMIN", nil
	}
	switch v := os.Getenv("CLISER_ADMIN_LISTEN"); {
	case v == "":
		return addr, "--admin", nil
	case v == "off":
		return "", "", configErrorf("CLISER_ADMIN_LISTEN is off: the server of this environment runs without its admin API; give --admin or CLISER_ADMIN to reach one")
	default:
		if _, _, err := net.SplitHostPort(v); err != nil {
			return "", "", configErrorf("CLISER_ADMIN_LISTEN %q is not HOST:PORT (e.g. 127.0.0.1:7071); or give --admin or CLISER_ADMIN", v)
		}
		return addr, "CLISER_ADMIN_LISTEN", nil
	}
}

// newAPIClient is admin.NewClient for the address f names.
func newAPIClient(f *pflag.Flag, token string, timeout time.Duration) (*admin.Client, error) {
	addr, from, err := adminAddr(f)
	if err != nil {
		return nil, err
	}
	c, err := admin.NewClient(addr, token, timeout)
	if err != nil {
		return nil, configErrorf("%s: %v", from, err)
	}
	return c, nil
}

// adminFlags are the flags every admin-API command shares: where the API
// is (--admin), the output (-o) and the bound on each request (--timeout).
type adminFlags struct {
	admin     string
	adminFlag *pflag.Flag // --admin itself: was it given?
	tokenFile string      // --admin-token-file (admin_token_cli.go)
	output    string
	timeout   time.Duration
	cmd       *cobra.Command // the command that owns the flags: its stderr takes warnings
}

func (o *adminFlags) client() (*apiClient, error) {
	switch o.output {
	case "table", "json":
	default:
		return nil, configErrorf("-o %q: want table or json", o.output)
	}
	if o.timeout <= 0 {
		return nil, configErrorf("--timeout must be positive, got %s", o.timeout)
	}
	token, from, file, err := cliToken(o.tokenFile)
	if err != nil {
		return nil, err
	}
	warnOpenTokenFile(o.stderr(), from, file)
	c, err := newAPIClient(o.adminFlag, token, o.timeout)
	if err != nil {
		return nil, err
	}
	warnClearToken(o.stderr(), c, from)
	return &apiClient{Client: c, tokenFrom: from, timeout: o.timeout}, nil
}

// stderr is where the owning command writes its errors.
func (o *adminFlags) stderr() io.Writer {
	if o.cmd == nil {
		return os.Stderr
	}
	return o.cmd.ErrOrStderr()
}

// warnClearToken says, before the first request, that the token of from
// is about to cross a network unencrypted: the admin API speaks plain
// HTTP, so a token sent to another host by http:// is anyone's on the
// path. Before, the CLI sent it without a word (security audit).
func warnClearToken(w io.Writer, c *admin.Client, from string) {
	if c.SendsTokenInClear() {
		fmt.Fprintf(w, "cliser: warning: the token of %s goes to %s over plain HTTP, readable by anyone on the path: "+
			"reach the API by https:// (a TLS terminator in front of it) or a loopback address (an SSH tunnel)\n", from, c.Base())
	}
}

// newAdminGroupCmd is a command that only groups admin-API subcommands
// made of requests (clients, credentials, bans): a group with --timeout,
// the bound on each request.
func newAdminGroupCmd(use, short, long string, subs ...func(*adminFlags) *cobra.Command) *cobra.Command {
	cmd, o := newGroupCmd(use, short, long, subs...)
	cmd.PersistentFlags().DurationVar(&o.timeout, "timeout", 10*time.Second, "how long one request may take")
	return cmd
}

// newGroupCmd is a command that only groups admin-API subcommands: it
// shows its help, owns the flags they share (--admin, -o) and hands every
// subcommand the same options.
func newGroupCmd(use, short, long string, subs ...func(*adminFlags) *cobra.Command) (*cobra.Command, *adminFlags) {
	o := &adminFlags{}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long,
		Args:  cobra.NoArgs, // a usage mistake through markUsageErrors
		RunE:  needsSubcommand,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&o.admin, "admin", defaultAdmin(), "admin API address (env CLISER_ADMIN)")
	o.adminFlag = pf.Lookup("admin")
	o.cmd = cmd
	o.addTokenFlag(pf)
	pf.StringVarP(&o.output, "output", "o", "table", "table or json")
	for _, sub := range subs {
		cmd.AddCommand(sub(o))
	}
	return cmd, o
}

// explain turns an API error into one that says what to do.
func explain(c *apiClient, err error, cid string) error {
	var ue *admin.UnreachableError
	var se *admin.StatusError
	var ne net.Error
	switch {
	case errors.As(err, &ue) && errors.As(ue.Err, &ne) && ne.Timeout() && c.timeout > 0:
		return fmt.Errorf("the admin API at %s did not answer within --timeout %s (%v): a busy server may need a longer one",
			c.Base(), c.timeout, ue.Err)
	case errors.As(err, &ue) && errors.Is(ue.Err, admin.ErrNotHTTP):
		return fmt.Errorf("%s is not the admin API: %v; check --admin/CLISER_ADMIN", c.Base(), ue.Err)
	case errors.As(err, &ue) && strings.Contains(ue.Err.Error(), "server gave HTTP response to HTTPS client"):
		// net/http's words, which name no sentinel.
		return fmt.Errorf("the admin API at %s answered in plain HTTP: give --admin/CLISER_ADMIN as http://, or TLS in front of it", c.Base())
	case errors.As(err, &ue):
		return fmt.Errorf("cannot reach the admin API at %s (%v): is `cliser serve` running? check --admin/CLISER_ADMIN", c.Base(), ue.Err)
	case errors.As(err, &se) && se.Status == http.StatusUnauthorized:
		if c.tokenFrom == "" {
			return fmt.Errorf("the admin API wants a token: set CLISER_ADMIN_TOKEN to the server's token, or give --admin-token-file (%s)", se.Message)
		}
		return fmt.Errorf("the admin API refused the token of %s: put the server's token there (%s)", c.tokenFrom, se.Message)
	case errors.As(err, &se) && se.Foreign():
		// Not cliser's answer (a proxy path in --admin, another server):
		// its 404 is no missing client, its 400 no mistake in the flags.
		return fmt.Errorf("admin API at %s: %s; check --admin/CLISER_ADMIN", c.Base(), se.Error())
	case errors.As(err, &se) && se.Status == http.StatusNotFound && cid != "" && strings.HasPrefix(se.Message, "no client "):
		return fmt.Errorf("no client %s", cid)
	case errors.As(err, &se) && se.Status == http.StatusNotFound && cid != "" && strings.Contains(se.Message, "is not connected"):
		return fmt.Errorf("client %s is not connected", cid)
	case errors.As(err, &se) && se.Status == http.StatusBadRequest:
		// The request is what the flags and arguments made it: a value
		// the CLI cannot check itself (a cursor is opaque to it).
		return configErrorf("the admin API refused the request: %s", se.Message)
	case errors.As(err, &se) && se.Status == http.StatusServiceUnavailable:
		// The server's message says why (starting, draining, a node that
		// did not answer, NATS away): not every 503 is a drain, and not
		// every request a command (`status` of a starting server said
		// "could not take the command": metrics audit).
		return fmt.Errorf("the server could not answer the request now: %s", se.Message)
	case errors.As(err, &se) && se.Status == http.StatusNotFound:
		// cliser's own 404 says what is missing, as "no client X" does
		// (a Foreign one went above).
		return errors.New(se.Message)
	case errors.As(err, &se):
		return fmt.Errorf("admin API: %s", se.Error())
	}
	return err
}

func writeJSONOut(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func orDash(s *string) string {
	if s == nil || *s == "" {
		return "-"
	}
	return printable(*s)
}

// printable is s for a terminal: quoted, with Go's escapes, when it holds
// anything but printable characters and spaces. A ban's reason is free
// text that anyone with the admin API can write; raw, an escape sequence
// in it ran in the operator's terminal (a title set, lines hidden or
// rewritten) and a tab or a newline broke the table.
func printable(s string) string {
	for _, r := range s {
		if !strconv.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// fieldValue is v as the value of a key=value line or a table's column:
// quoted as printable quotes, and also when it holds a space, '=' or '"',
// so that a free-text --node-id cannot read as more fields of the line
// ("n1 cid=x") or more columns.
func fieldValue(v string) string {
	if strings.ContainsAny(v, " =\"") {
		return strconv.Quote(v)
	}
	return printable(v)
}

// escapedLine is s with each character a terminal would act on written
// as its Go escape and the rest as it is: an error message may carry a
// server's words (a 400's text), which must not drive the terminal.
func escapedLine(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strconv.IsPrint(r) {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRune(r)
		b.WriteString(q[1 : len(q)-1])
	}
	return b.String()
}
