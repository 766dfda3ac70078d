package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/protocol"
)

func init() {
	extraCommands = append(extraCommands, newClientsCmd, newHealthCmd)
}

func newClientsCmd() *cobra.Command {
	return newAdminGroupCmd("clients",
		"List and command clients through the admin API",
		"List and command the server's clients through its admin API.\n\n"+
			"The API is found at --admin (default: $CLISER_ADMIN, else derived from\n"+
			"$CLISER_ADMIN_LISTEN, else http://127.0.0.1:7071). When the server wants a\n"+
			"token, give one of its tokens: --admin-token-file FILE (its first line), else\n"+
			"CLISER_ADMIN_TOKEN, else the file CLISER_ADMIN_TOKEN_FILE names, as the\n"+
			"server reads them, so the server's own environment serves here too.\n"+
			"Output is a table for people; -o json is for scripts.",
		newClientsListCmd, newClientsGetCmd, doesWork(newClientsShutdownCmd), doesWork(newClientsKickCmd))
}

// defaultListLimit is one screenful-ish page: a fleet of 20,000 is not a
// table anyone reads whole; --all asks for that on purpose.
const defaultListLimit = 100

func newClientsListCmd(o *adminFlags) *cobra.Command {
	var l listOptions
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List client records, a page of 100 at a time (--all: every one)",
		Long: "List client records in client-ID order, at most --limit (default 100) of them.\n" +
			"When more remain, the line to get the next page is printed on stderr (-o json:\n" +
			"the \"next\" field) and --cursor takes it back. --all follows the API's cursors\n" +
			"to the last record.",
		Example: "  cliser clients list\n" +
			"  cliser clients list --status connected --limit 20\n" +
			"  cliser clients list --prefix pos- --all\n" +
			"  cliser clients list --all -o json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return l.run(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVar(&l.status, "status", "all", "connected, disconnected or all")
	f.StringVar(&l.prefix, "prefix", "", "only client IDs that start with this (a start of a client ID; empty: every one)")
	decimalVar(f, &l.limit, "limit", defaultListLimit, "at most this many records (0: every one, as --all)")
	f.BoolVar(&l.all, "all", false, "every record: follow the cursors to the end")
	f.StringVar(&l.cursor, "cursor", "", `start after this cursor (the "next" of an earlier listing)`)
	decimalVar(f, &l.pageSize, "page-size", 1000, "records per API request (1 to 1000)")
	return cmd
}

// listOptions are the flags of `cliser clients list` alone.
type listOptions struct {
	status, cursor  string
	prefix          string
	limit, pageSize int
	all             bool
}

// run lists the records the flags ask for, as a table (with the next
// page's hint on stderr) or as JSON.
func (l *listOptions) run(cmd *cobra.Command, o *adminFlags) error {
	limitGiven := cmd.Flags().Changed("limit")
	if err := l.check(limitGiven); err != nil {
		return err
	}
	if l.all {
		l.limit = 0
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	resp, err := listClients(cmd.Context(), c, l.status, l.prefix, l.limit, l.pageSize, l.cursor)
	if err != nil {
		return explain(c, err, "")
	}
	if resp.Stale {
		staleNote(cmd.ErrOrStderr(), c.Base())
	}
	if o.output == "json" {
		return writeJSONOut(cmd.OutOrStdout(), resp)
	}
	if err := writeTable(cmd.OutOrStdout(), resp.Clients); err != nil {
		return err
	}
	if resp.Next != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "more clients: the next page is %s; --all lists every one\n",
			l.nextPage(resp.Next, limitGiven))
	}
	return nil
}

// nextPage is the flags that list the next page: the cursor alone went
// on without the filters, and listed other clients' records (audit).
func (l *listOptions) nextPage(next string, limitGiven bool) string {
	args := "--cursor " + next
	if l.status != "all" {
		args += " --status " + l.status
	}
	if l.prefix != "" {
		args += " --prefix " + l.prefix // a client ID's bytes: nothing a shell reads
	}
	if limitGiven {
		args += " --limit " + strconv.Itoa(l.limit)
	}
	return args
}

// check refuses flags that contradict each other or that the API would
// refuse (limitGiven: --limit was on the command line).
func (l *listOptions) check(limitGiven bool) error {
	switch l.status {
	case "all", "connected", "disconnected":
	default:
		return configErrorf("--status %q: want connected, disconnected or all", l.status)
	}
	switch {
	case l.limit < 0:
		return configErrorf("--limit must not be negative, got %d", l.limit)
	case l.all && limitGiven:
		return configErrorf("give --limit N or --all, not both")
	case l.pageSize < 1 || l.pageSize > 1000:
		return configErrorf("--page-size must be 1 to 1000, got %d", l.pageSize)
	}
	// "" is every client ID; any other prefix of one is a client ID
	// itself. One no ID can start with listed an empty table, where the
	// other commands refuse such an ID (CLI audit).
	if l.prefix != "" && protocol.ValidateClientID([]byte(l.prefix)) != nil {
		return configErrorf("--prefix %q: no client ID starts with it (a client ID is 1 to %d of A-Z a-z 0-9 . _ : @ -)",
			l.prefix, protocol.MaxClientID)
	}
	return nil
}

// listClients lists the records the flags ask for, over as many pages as
// that takes. Stale is set when any page was stale.
func listClients(ctx context.Context, c *apiClient, status, prefix string, limit, pageSize int, cursor string) (admin.ListResponse, error) {
	var stale bool
	clients, next, err := listPages(limit, pageSize, cursor, func(n int, cursor string) ([]admin.ClientRecord, string, error) {
		resp, err := c.List(ctx, status, prefix, n, cursor)
		stale = stale || resp.Stale
		return resp.Clients, resp.Next, err
	})
	return admin.ListResponse{Clients: clients, Next: next, Stale: stale}, err
}

// listPages follows an API listing's cursors from cursor until it has
// limit items (0: all) or the last page. fetch gets at most n items after
// cursor and returns them and the next cursor. next is set when it stopped
// early and more remain. The list is never nil, so JSON shows [] for none.
func listPages[T any](limit, pageSize int, cursor string, fetch func(n int, cursor string) ([]T, string, error)) ([]T, string, error) {
	list := []T{}
	for {
		n := pageSize
		if limit > 0 {
			n = min(n, limit-len(list))
		}
		items, next, err := fetch(n, cursor)
		if err != nil {
			return nil, "", err
		}
		list = append(list, items...)
		if cursor = next; cursor == "" || (limit > 0 && len(list) >= limit) {
			return list, cursor, nil
		}
	}
}

func newClientsGetCmd(o *adminFlags) *cobra.Command {
	return newOneClientCmd(o, "get CID", "Show one client's record", (*admin.Client).Get, writeRecord)
}

// newOneClientCmd is a command on one client ID (get, kick): it calls the
// API for args[0] and prints the answer as JSON or through table.
func newOneClientCmd[T any](o *adminFlags, use, short string,
	call func(*admin.Client, context.Context, string) (T, error),
	table func(io.Writer, T) error,
) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  clientIDArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			resp, err := call(c.Client, cmd.Context(), args[0])
			var se *admin.StatusError
			if errors.As(err, &se) && se.Stale { // a 404 of what that node last saw (cluster audit)
				staleNote(cmd.ErrOrStderr(), c.Base())
			}
			if err != nil {
				return explain(c, err, args[0])
			}
			if r, ok := any(resp).(admin.ClientRecord); ok && r.Stale {
				staleNote(cmd.ErrOrStderr(), c.Base())
			}
			if o.output == "json" {
				return writeJSONOut(cmd.OutOrStdout(), resp)
			}
			return table(cmd.OutOrStdout(), resp)
		},
	}
}

func newClientsShutdownCmd(o *adminFlags) *cobra.Command {
	var reason string
	var all bool
	cmd := &cobra.Command{
		Use:   "shutdown CID | shutdown --all",
		Short: "Tell a connected client (or all of them) to shut down (130 shutdown)",
		Long: "Send \"130 shutdown[ <reason>]\" to a connected client, or with --all to every\n" +
			"connected client. The server answers once the order is queued; the client\n" +
			"answers \"130 ok\" and its record then says reason \"shutdown\". In a cluster,\n" +
			"--all exits 1 naming any node that did not confirm the order in time (its\n" +
			"clients may not have been told).",
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case all && len(args) > 0:
				return configErrorf("give a CID or --all, not both")
			case !all && len(args) != 1:
				return configErrorf("give one CID, or --all for every connected client")
			case len(reason) > protocol.MaxShutdownReason:
				return configErrorf("--reason is %d bytes: at most %d fit the 130 line", len(reason), protocol.MaxShutdownReason)
			case !all:
				if err := checkClientID("", args[0]); err != nil {
					return err
				}
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if all {
				resp, err := c.ShutdownAll(cmd.Context(), reason)
				if err != nil {
					return explain(c, err, "")
				}
				noteFoldedText(cmd.ErrOrStderr(), reason)
				if o.output == "json" {
					err = writeJSONOut(out, resp)
				} else {
					_, err = fmt.Fprintf(out, "shutdown sent to %d connected %s\n", resp.Sent, plural(resp.Sent, "client", "clients"))
				}
				if err == nil && len(resp.UnconfirmedNodes) > 0 {
					// Exit 1: a script must not take the fleet for told.
					err = fmt.Errorf("not confirmed by node(s) %s: their clients may not have been told; run it again",
						strings.Join(resp.UnconfirmedNodes, ", "))
				}
				return err
			}
			resp, err := c.Shutdown(cmd.Context(), args[0], reason)
			if err != nil {
				return explain(c, err, args[0])
			}
			noteFoldedText(cmd.ErrOrStderr(), reason)
			if o.output == "json" {
				return writeJSONOut(out, resp)
			}
			_, err = fmt.Fprintf(out, "shutdown sent to %s\n", printable(resp.CID))
			return err
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "text sent with the order (130 shutdown <reason>)")
	cmd.Flags().BoolVar(&all, "all", false, "every connected client")
	return cmd
}

func newClientsKickCmd(o *adminFlags) *cobra.Command {
	return newOneClientCmd(o, "kick CID", "Disconnect a client now (190 kicked)", (*admin.Client).Kick,
		func(w io.Writer, resp admin.CommandResponse) error {
			_, err := fmt.Fprintf(w, "kicked %s\n", printable(resp.CID))
			return err
		})
}

// writeTable prints one line per record. A NODE column appears when a
// record names its node (cluster mode); single-node output stays as it was.
func writeTable(w io.Writer, recs []admin.ClientRecord) error {
	withNode := false
	for _, r := range recs {
		withNode = withNode || r.Node != ""
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := "CID\tSID\tSTATUS\tADDRESS\tCONNECTED_AT\tLAST_SEEN\tDISCONNECTED_AT\tREASON"
	if withNode {
		header += "\tNODE"
	}
	fmt.Fprintln(tw, header)
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", printable(r.CID), sidText(r.SID), statusWord(r.CStatus),
			printable(addressText(r)), orDash(r.ConnectedAt), orDash(r.LastSeen), orDash(r.DisconnectedAt), orDash(&r.Reason))
		if withNode {
			fmt.Fprintf(tw, "\t%s", fieldValue(r.Node)) // quoted with a space: a column of its own
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func writeRecord(w io.Writer, r admin.ClientRecord) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, kv := range [][2]string{
		{"cid", printable(r.CID)},
		{"sid", sidText(r.SID)},
		{"status", statusWord(r.CStatus)},
		{"cip", orDash(&r.CIP)},
		{"cport", orDash(&r.CPort)},
		{"connected_at", orDash(r.ConnectedAt)},
		{"last_seen", orDash(r.LastSeen)},
		{"disconnected_at", orDash(r.DisconnectedAt)},
		{"reason", orDash(&r.Reason)},
		{"node", printable(r.Node)}, // --node-id is free text
	} {
		if kv[0] == "node" && kv[1] == "" {
			continue // single node: no such line
		}
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
	}
	return tw.Flush()
}

func statusWord(connected bool) string {
	if connected {
		return "connected"
	}
	return "disconnected"
}

// staleNote says on stderr that the answer came from a node's copy
// (admin.HeaderStale), so that a "-" in it reads as not known.
func staleNote(w io.Writer, base string) {
	fmt.Fprintf(w, "note: a stale answer: %s cannot reach NATS and shows other nodes' clients as it last saw them, "+
		"their sid, address and times not known (-); its own clients are current (docs/cluster.md)\n", base)
}

// sidText is the sid, "-" for 0: no session has sid 0, a stale answer's
// record of another node's client does.
func sidText(sid uint16) string {
	if sid == 0 {
		return "-"
	}
	return fmt.Sprint(sid)
}

// addressText is cip:cport, "-" when not known.
func addressText(r admin.ClientRecord) string {
	if r.CIP == "" {
		return "-"
	}
	return net.JoinHostPort(r.CIP, r.CPort)
}

// plural is one when n is 1, else many.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// noteFoldedText says on stderr when the 130 line carries reason other
// than as given (protocol.ShutdownText: ASCII, control characters as
// spaces): the log and the shutdown_sent event showed the text that went,
// and the operator who typed it read only "shutdown sent" (odd-input audit).
func noteFoldedText(w io.Writer, reason string) {
	if sent := protocol.ShutdownText(reason); sent != strings.TrimSpace(reason) {
		_, _ = fmt.Fprintf(w, "cliser: note: the 130 line carries ASCII only: the text goes as %q\n", sent)
	}
}
