package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
)

func init() {
	extraCommands = append(extraCommands, newEventsCmd)
}

// newEventsCmd has no --timeout: tail is one long stream, not requests.
func newEventsCmd() *cobra.Command {
	cmd, _ := newGroupCmd("events",
		"Follow the event log through the admin API",
		"Follow the server's event log (docs/events.md) through its admin API.\n\n"+
			"The API is found at --admin (default: $CLISER_ADMIN, else derived from\n"+
			"$CLISER_ADMIN_LISTEN, else http://127.0.0.1:7071); the token as for\n"+
			"`cliser clients`.",
		newEventsTailCmd)
	// tail prints lines, not a table: the shared "table or json" said
	// otherwise (CLI audit). The value stays "table", as for every group.
	cmd.PersistentFlags().Lookup("output").Usage = "table: one line per event; json: each event's JSON on a line of its own (for jq)"
	return cmd
}

func newEventsTailCmd(o *adminFlags) *cobra.Command {
	var typeFlags, cidFlags []string
	var after int64
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Print events as they happen, one line each",
		Long: "Print the event log's events as they happen, one line each (-o json: the\n" +
			"event's JSON). Without --after only new events are printed; --after N starts\n" +
			"after seq N. When the connection drops, tail connects again by itself and\n" +
			"resumes after the last event it printed. Stop it with Ctrl-C.",
		Example: "  cliser events tail\n" +
			"  cliser events tail --type client.disconnected --after 0\n" +
			"  cliser events tail --cid pos-0042 -o json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.timeout = 10 * time.Second
			c, err := o.client()
			if err != nil {
				return err
			}
			// --type given again adds its types: a string flag kept the
			// last one alone, silently (CLI audit). --cid names one client.
			types := strings.Join(typeFlags, ",")
			if len(cidFlags) > 1 {
				return configErrorf("--cid is given %d times: tail follows one client, or every one without --cid", len(cidFlags))
			}
			cid := strings.Join(cidFlags, "")
			f, err := tailFilter(types, cid)
			if err != nil {
				return err
			}
			// Given but empty ("$T" unset in a script) is a mistake, as
			// the API's ?type= and ?cid= are: read as no filter, it
			// followed every event.
			if cmd.Flags().Changed("type") && types == "" { // tailFilter refuses commas alone
				return noEventType(types)
			}
			if cmd.Flags().Changed("cid") && cid == "" {
				return configErrorf("--cid is empty: give a client ID, or leave it out")
			}
			var from *uint64
			if cmd.Flags().Changed("after") {
				if after < 0 {
					return configErrorf("--after must be a seq, 0 or more, got %d", after)
				}
				v := uint64(after)
				from = &v
			}
			return tail(cmd.Context(), c, from, f, o.output == "json", cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&typeFlags, "type", nil, "only these event `TYPES`, comma-separated or --type again ("+strings.Join(events.Types, ", ")+")")
	f.StringArrayVar(&cidFlags, "cid", nil, "only the events of this client (`CID`)")
	decimalVar(f, &after, "after", 0, "start after this seq (default: only new events)")
	return cmd
}

func tailFilter(types, cid string) (admin.EventsFilter, error) {
	var f admin.EventsFilter
	for _, t := range strings.Split(types, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if !slices.Contains(events.Types, t) {
			return f, configErrorf("--type %q: want one of %s", t, strings.Join(events.Types, ", "))
		}
		f.Types = append(f.Types, t)
	}
	if types != "" && len(f.Types) == 0 { // commas alone, as the API's ?type=, is refused
		return f, noEventType(types)
	}
	if cid != "" {
		if err := checkClientID("--cid", cid); err != nil {
			return f, err
		}
	}
	f.CID = cid
	return f, nil
}

// noEventType refuses a --type given that names no type.
func noEventType(types string) error {
	return configErrorf("--type %q names no event type: give one or more of %s, or leave it out", types, strings.Join(events.Types, ", "))
}

// tail prints the stream until ctx ends. Events that fell out of the log
// while it was away are said on stderr, and it goes on from the oldest kept.
func tail(ctx context.Context, c *apiClient, after *uint64, f admin.EventsFilter, asJSON bool, out, errw io.Writer) error {
	dropped := false // a line said the stream is not up
	up := false      // a connection of this tail was up
	jumped := false  // it goes on from the oldest kept, past a gap
	onState := func(connected bool, err error) {
		var se *admin.StatusError
		var re *admin.RetryError
		switch {
		case connected && dropped && up && jumped:
			fmt.Fprintln(errw, "cliser: reconnected")
		case connected && dropped && up:
			fmt.Fprintln(errw, "cliser: reconnected; resuming after the last event printed")
		case connected && dropped:
			fmt.Fprintln(errw, "cliser: connected")
		case !connected && errors.As(err, &se) && se.Status == http.StatusTooManyRequests && errors.As(err, &re):
			// Not a drop: no stream was up, and trying again before the
			// Retry-After is refused again (CLI audit: "stream dropped",
			// a retry every second).
			fmt.Fprintf(errw, "cliser: the admin API at %s locks this address out for a while: too many wrong tokens "+
				"came from it (the right one is refused too until then); trying again in %s\n", c.Base(), roundUp(re.After))
		case !connected && !up:
			// No stream was up yet to drop (a cluster node's 503 while its
			// event stream is away): "dropped" sent the reader looking
			// for a connection that never was.
			fmt.Fprintf(errw, "cliser: the event stream is not available yet (%v); trying again\n", err)
		case !connected && dropped:
			// A retry of the same outage: each said "stream dropped" again,
			// five drops for one restart (stream audit).
			fmt.Fprintf(errw, "cliser: still no stream (%s); trying again\n", escapedLine(err.Error()))
		case !connected:
			fmt.Fprintf(errw, "cliser: stream dropped (%s); reconnecting\n", escapedLine(err.Error()))
		}
		dropped = !connected
		up = up || connected
		jumped = jumped && !connected
	}
	var last *uint64 // the last event printed
	print := func(ev events.Event) error {
		last = &ev.Seq
		return printEvent(out, ev, asJSON)
	}
	for {
		err := c.Stream(ctx, after, f, print, onState)
		var gone *events.GoneError
		if !errors.As(err, &gone) {
			return explain(c, err, "")
		}
		// After the last event printed, not the --after given: the
		// message named the start while events past it had been shown
		// (event-readers audit).
		from := uint64(0)
		switch {
		case last != nil:
			from = *last
		case after != nil:
			from = *after
		}
		jumped = true
		if gone.Ahead {
			fmt.Fprintf(errw, "cliser: this server's event log never gave events after %d (its newest is %d: the cursor is another log's); "+
				"continuing after its newest\n", from, gone.Newest)
			after = &gone.Newest
			continue
		}
		fmt.Fprintf(errw, "cliser: events after %d are no longer kept; continuing from the oldest kept, %d\n", from, gone.Oldest)
		next := gone.Oldest - 1
		after = &next
	}
}

// roundUp is d in whole seconds, rounded up, as a wait is told.
func roundUp(d time.Duration) time.Duration {
	return (d + time.Second - 1).Truncate(time.Second)
}

// printEvent writes one event: its JSON, or a table-like line of the
// fields its type has.
func printEvent(w io.Writer, ev events.Event, asJSON bool) error {
	if asJSON { // one line per event (JSON lines), for jq and scripts
		return json.NewEncoder(w).Encode(ev)
	}
	line := fmt.Sprintf("%-8d %s  %-22s", ev.Seq, ev.Time.UTC().Format("2006-01-02T15:04:05.000Z"), ev.Type)
	// Every value through fieldValue: the node is the operator's free
	// --node-id (another machine's, in a cluster), and its escape codes
	// reached the terminal raw, its spaces made fields of their own.
	add := func(k, v string) {
		if v != "" {
			line += " " + k + "=" + fieldValue(v)
		}
	}
	add("cid", ev.CID)
	if ev.SID != 0 {
		add("sid", fmt.Sprint(ev.SID))
	}
	add("node", ev.Node)
	if ev.CIP != "" {
		add("addr", net.JoinHostPort(ev.CIP, ev.CPort)) // [::1]:port, as clients list writes it
	}
	add("kind", ev.Kind)
	add("value", ev.Value)
	add("by", ev.By)
	if ev.Reason != nil {
		line += fmt.Sprintf(" reason=%q", *ev.Reason)
	}
	add("session", ev.Session)
	_, err := fmt.Fprintln(w, line)
	return err
}
