package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cliser/cliser/admin"
)

func init() { extraCommands = append(extraCommands, newStatusCmd) }

const statusLong = "Show the fleet at a glance from the admin API's GET /v1/stats: clients\n" +
	"connected of all records, handshakes per second over the last minute,\n" +
	"keep-alive round trips and disconnects by reason over the last five minutes,\n" +
	"then the node's health from GET /v1/health: ready or why not, and what else\n" +
	"ails it (an event log that cannot write, a webhook that fails).\n" +
	"In a cluster the figures are the sums over the nodes, then one line per node\n" +
	"(state up, unreachable or down).\n" +
	"-o json prints the API's answer as it is. The API is found as for\n" +
	"`cliser clients` (--admin, CLISER_ADMIN; the token as there)."

// newStatusCmd is `cliser status`: GET /v1/stats read for a person, the
// fleet at a glance (per node in a cluster).
func newStatusCmd() *cobra.Command {
	o := &adminFlags{}
	cmd := &cobra.Command{
		Use:     "status",
		Short:   "The fleet at a glance: connected/total, handshakes per second, recent disconnects by reason (per node in a cluster)",
		Long:    statusLong,
		Example: "  cliser status\n  cliser status --admin http://10.0.0.5:7071 -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			st, err := c.Stats(cmd.Context())
			if err != nil {
				return explain(c, err, "")
			}
			if o.output == "json" {
				return writeJSONOut(cmd.OutOrStdout(), st)
			}
			return writeStatus(cmd.OutOrStdout(), c.Base(), st, healthOf(cmd.Context(), c))
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.admin, "admin", defaultAdmin(), "admin API address (env CLISER_ADMIN)")
	o.adminFlag = f.Lookup("admin")
	o.cmd = cmd
	o.addTokenFlag(f)
	f.StringVarP(&o.output, "output", "o", "table", "table or json")
	f.DurationVar(&o.timeout, "timeout", 10*time.Second, "how long the request may take")
	return cmd
}

// writeStatus prints the summary and the node's health, and in a cluster
// a table of nodes whose total is the summary's figures.
func writeStatus(w io.Writer, base string, st admin.StatsResponse, hl healthLines) error {
	window := spanText(time.Duration(st.WindowSeconds * float64(time.Second)))
	if len(st.Nodes) > 0 {
		st = clusterTotal(st)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	at := st.Time
	if t, err := time.Parse(time.RFC3339Nano, at); err == nil {
		at = t.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(tw, "admin API:\t%s at %s\n", base, printable(at))
	fmt.Fprintf(tw, "clients:\t%d connected of %d records\n", st.Connected, st.Records)
	fmt.Fprintf(tw, "handshakes:\t%.2f/s over the last minute\n", st.HandshakesPerS)
	if len(st.Nodes) == 0 {
		fmt.Fprintf(tw, "keep-alive RTT:\t%s over the last %s\n", rttText(st.RTTP50Seconds, st.RTTP99Seconds), window)
	}
	fmt.Fprintf(tw, "disconnects:\t%s over the last %s\n", disconnectsText(st.Disconnects), window)
	writeHealth(tw, hl)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(st.Nodes) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTATE\tCONNECTED\tRECORDS\tHANDSHAKES/S\tRTT\tDISCONNECTS")
	for _, n := range st.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.2f\t%s\t%s\n", fieldValue(n.Node), printable(n.State), n.Connected, n.Records,
			n.HandshakesPerS, rttText(n.RTTP50Seconds, n.RTTP99Seconds), disconnectsText(n.Disconnects))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Why a node is unreachable was in -o json alone (cluster audit), and
	// so were the other nodes' notes.
	for _, n := range st.Nodes {
		if n.Error != "" {
			fmt.Fprintf(w, "%s %s: %s\n", fieldValue(n.Node), printable(n.State), printable(n.Error))
		}
		for _, k := range slices.Sorted(maps.Keys(n.Notes)) {
			fmt.Fprintf(w, "%s note: %s\n", fieldValue(n.Node), printable(n.Notes[k])) // "clients: …": each names its part
		}
	}
	return nil
}

// clusterTotal sums the nodes' figures: the nodes' records add up to the
// cluster's, and each node's rates are its own.
func clusterTotal(st admin.StatsResponse) admin.StatsResponse {
	st.Connected, st.Records, st.HandshakesPerS = 0, 0, 0
	st.Disconnects = map[string]int{}
	for _, n := range st.Nodes {
		st.Connected += n.Connected
		st.Records += n.Records
		st.HandshakesPerS += n.HandshakesPerS
		for r, c := range n.Disconnects {
			st.Disconnects[r] += c
		}
	}
	return st
}

// spanText is "5 minutes" rather than Go's "5m0s".
func spanText(d time.Duration) string {
	if d >= time.Minute && d%time.Minute == 0 {
		if d == time.Minute {
			return "minute"
		}
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}

func rttText(p50, p99 *float64) string {
	if p50 == nil || p99 == nil {
		return "-"
	}
	ms := func(s float64) string { return fmt.Sprintf("%.1f ms", s*1000) }
	return "p50 " + ms(*p50) + ", p99 " + ms(*p99)
}

// disconnectsText is "none", or the reasons most frequent first:
// "keepalive timeout 3, kicked 1".
func disconnectsText(d map[string]int) string {
	reasons := make([]string, 0, len(d))
	for r, n := range d {
		if n > 0 {
			reasons = append(reasons, r)
		}
	}
	if len(reasons) == 0 {
		return "none"
	}
	sort.Slice(reasons, func(i, j int) bool {
		a, b := reasons[i], reasons[j]
		return d[a] > d[b] || (d[a] == d[b] && a < b)
	})
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = fmt.Sprintf("%s %d", printable(r), d[r])
	}
	return strings.Join(parts, ", ")
}

// healthOf is the node's GET /v1/health, or a line saying why it could
// not be read (an older server has no such endpoint).
func healthOf(ctx context.Context, c *apiClient) healthLines {
	h, err := c.Health(ctx)
	if err != nil {
		return healthLines{err: err}
	}
	return healthLines{h: h}
}

type healthLines struct {
	h   admin.HealthResponse
	err error
}

// writeHealth puts "health:" and the node's verdict in the summary, then
// a line per note.
func writeHealth(tw *tabwriter.Writer, hl healthLines) {
	switch {
	case hl.err != nil:
		fmt.Fprintf(tw, "health:\tnot known: %s\n", escapedLine(hl.err.Error()))
	case hl.h.Ready:
		fmt.Fprintf(tw, "health:\tready\n")
	default:
		fmt.Fprintf(tw, "health:\tNOT READY: %s\n", printable(hl.h.Error))
	}
	for _, k := range slices.Sorted(maps.Keys(hl.h.Notes)) {
		fmt.Fprintf(tw, "\t%s\n", printable(hl.h.Notes[k])) // "webhook: …": each names its part
	}
}
