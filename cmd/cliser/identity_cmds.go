package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/identity"
)

func init() {
	extraCommands = append(extraCommands, newCredentialsCmd, newBansCmd)
}

func newCredentialsCmd() *cobra.Command {
	return newAdminGroupCmd("credentials",
		"Enroll client IDs with a secret of their own, list and remove them",
		"Manage credentials through the admin API (docs/identity.md). A credential binds\n"+
			"a generated secret to one client ID: from then on that ID is admitted only with\n"+
			"that secret as its 110 answer. The secret is shown once, when it is created.\n"+
			"The API is found as for `cliser clients` (--admin, CLISER_ADMIN; the token as there).",
		doesWork(newCredentialsAddCmd), newCredentialsListCmd, doesWork(newCredentialsRmCmd))
}

func newCredentialsAddCmd(o *adminFlags) *cobra.Command {
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "add CID...",
		Short: "Enroll client IDs (or rotate their secrets) and print each new secret once",
		Long: "Enroll each client ID: the server generates a secret and this prints it, once.\n" +
			"Enrolling an ID again rotates its secret: the old one stops working at once,\n" +
			"or after --grace (both work meanwhile).",
		Args: usageArgs(clientIDArgs(cobra.MinimumNArgs(1))),
		RunE: func(cmd *cobra.Command, args []string) error {
			if grace < 0 {
				return configErrorf("--grace must not be negative, got %s", grace)
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			g := ""
			if grace > 0 {
				g = grace.String()
			}
			out := []admin.Credential{}
			var failed []error
			for i, cid := range args {
				cred, err := c.CreateCredential(cmd.Context(), cid, g)
				if err != nil {
					failed = append(failed, fmt.Errorf("%s: %w", cid, explain(c, err, "")))
					if stopsTheRest(err) {
						failed = append(failed, notTried(args[i+1:]))
						break
					}
					continue
				}
				out = append(out, cred)
			}
			if err := writeSecrets(cmd.OutOrStdout(), o.output, out); err != nil {
				if len(out) > 0 {
					err = secretsNotShown(out, err)
				}
				return errors.Join(append(failed, err)...)
			}
			return errors.Join(failed...)
		},
	}
	cmd.Flags().DurationVar(&grace, "grace", 0, "when rotating, how long the previous secret keeps working (e.g. 24h)")
	return cmd
}

// writeSecrets prints the credentials made, each secret once.
func writeSecrets(w io.Writer, output string, out []admin.Credential) error {
	if output == "json" {
		return writeJSONOut(w, out)
	}
	if len(out) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CID\tSECRET\tPREVIOUS_VALID_UNTIL")
	for _, cr := range out {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", printable(cr.CID), printable(cr.Secret), orDash(cr.PreviousValidUntil))
	}
	return tw.Flush()
}

// secretsNotShown is the error of credentials made whose secrets could
// not be printed (err: a full disk under a redirect, a closed pipe). The
// server holds them and nobody else does: their IDs are now refused
// with the shared password and no client has the secret. Before, the
// message was the write's alone ("write /dev/stdout: no space left on
// device"), which read as if nothing had been done.
func secretsNotShown(out []admin.Credential, err error) error {
	cids := make([]string, len(out))
	for i, cr := range out {
		cids[i] = cr.CID
	}
	list := strings.Join(cids, " ")
	return fmt.Errorf("credentials created for %s, but their secrets could not be printed (%w): nobody holds them, "+
		"and these IDs are no longer admitted with the shared password; run `cliser credentials add %s` again "+
		"for new secrets (the lost ones stop working when the rotation's grace ends), or `cliser credentials rm %s`", list, err, list, list)
}

// stopsTheRest reports whether err, one client ID's failure, is one
// every later ID would meet too: the API unreachable, the token refused
// or throttled. Going on would repeat it once an ID, and each wrong
// token takes one of the 10 an address may spend a minute
// (docs/security.md): 15 IDs with an old token locked the operator's
// address out of the API, the right token included, for a minute.
func stopsTheRest(err error) bool {
	var ue *admin.UnreachableError
	var se *admin.StatusError
	if errors.As(err, &ue) {
		return true
	}
	return errors.As(err, &se) && (se.Status == http.StatusUnauthorized || se.Status == http.StatusTooManyRequests)
}

// notTried names the client IDs a stopped loop did not send (nil when
// none remain).
func notTried(rest []string) error {
	if len(rest) == 0 {
		return nil
	}
	return fmt.Errorf("not tried: %s", strings.Join(rest, " "))
}

func newCredentialsListCmd(o *adminFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List enrolled client IDs (never a secret)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			all, _, err := listPages(0, 1000, "", func(n int, cursor string) ([]admin.Credential, string, error) {
				page, err := c.ListCredentials(cmd.Context(), n, cursor)
				return page.Credentials, page.Next, err
			})
			if err != nil {
				return explain(c, err, "")
			}
			if o.output == "json" {
				return writeJSONOut(cmd.OutOrStdout(), admin.CredentialList{Credentials: all})
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "CID\tCREATED_AT\tPREVIOUS_VALID_UNTIL")
			for _, cr := range all {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", printable(cr.CID), printable(cr.CreatedAt), orDash(cr.PreviousValidUntil))
			}
			return tw.Flush()
		},
	}
}

func newCredentialsRmCmd(o *adminFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "rm CID...",
		Short: "Delete credentials; each live session of those IDs is closed with 190 revoked",
		Args:  usageArgs(clientIDArgs(cobra.MinimumNArgs(1))),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			var failed []error
			for i, cid := range args {
				if err := c.DeleteCredential(cmd.Context(), cid); err != nil {
					failed = append(failed, fmt.Errorf("%s: %w", cid, explain(c, err, "")))
					if stopsTheRest(err) {
						failed = append(failed, notTried(args[i+1:]))
						break
					}
					continue
				}
				if o.output == "json" {
					if err := writeJSONOut(cmd.OutOrStdout(), map[string]any{"cid": cid, "deleted": true}); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "credential of %s deleted\n", cid)
			}
			return errors.Join(failed...)
		},
	}
}

func newBansCmd() *cobra.Command {
	return newAdminGroupCmd("bans",
		"Ban client IDs, IP addresses and networks; list and lift bans",
		"Manage bans through the admin API (docs/identity.md). A ban keeps a client ID\n"+
			"(cid), an address (ip) or a network (net, CIDR) out, for --duration or until\n"+
			"lifted; it also closes the live sessions it matches with 190 banned.",
		doesWork(newBansAddCmd), newBansListCmd, doesWork(newBansRmCmd))
}

func newBansAddCmd(o *adminFlags) *cobra.Command {
	var reason string
	var duration time.Duration
	cmd := &cobra.Command{
		Use:   "add cid|ip|net VALUE",
		Short: "Ban a client ID, an IP address or a network (CIDR)",
		Args:  usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			value, err := identity.ParseBanValue(args[0], args[1])
			if err != nil {
				return configErrorf("%s", trimBanErr(err))
			}
			// An explicit 0 is not "until lifted": the API refuses a
			// duration that is not positive, and a script's empty or zero
			// value would otherwise ban for good without a word.
			if duration < 0 || (duration == 0 && cmd.Flags().Changed("duration")) {
				return configErrorf("--duration must be positive (e.g. 1h), got %s; leave it out for a ban until lifted", duration)
			}
			// The API refuses a longer reason with a 400; a flag's bad value
			// is a usage mistake, answered before any request (exit 2).
			if len(reason) > identity.MaxBanReason {
				return configErrorf("--reason is %d bytes: at most %d", len(reason), identity.MaxBanReason)
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			req := admin.BanRequest{Kind: args[0], Value: args[1], Reason: reason}
			if duration > 0 {
				req.Duration = duration.String()
			}
			b, err := c.CreateBan(cmd.Context(), req)
			if err != nil {
				return explain(c, err, "")
			}
			warnWholeFamily(cmd.ErrOrStderr(), args[0], value, b.Until)
			if o.output == "json" {
				return writeJSONOut(cmd.OutOrStdout(), b)
			}
			return writeBans(cmd.OutOrStdout(), []admin.Ban{b})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (shown in the list and the event log)")
	cmd.Flags().DurationVar(&duration, "duration", 0, "how long the ban lasts (e.g. 1h); none: until lifted")
	return cmd
}

// warnWholeFamily says so when a net ban covers every address of its
// family (0.0.0.0/0, ::/0): typed by mistake for one address, it locks
// the whole fleet out, and the ban's own line does not say that. With an
// until, it says that too: it read "until `cliser bans rm`" alone
// for a ban of 2s (identity audit).
func warnWholeFamily(w io.Writer, kind, value string, until *string) {
	if kind != identity.KindNet {
		return
	}
	if p, err := netip.ParsePrefix(value); err == nil && p.Bits() == 0 {
		family := "IPv4"
		if p.Addr().Is6() {
			family = "IPv6"
		}
		end := "until `cliser bans rm net " + value + "`"
		if until != nil {
			end = "until " + *until + " (or `cliser bans rm net " + value + "`)"
		}
		_, _ = fmt.Fprintf(w, "cliser: note: net %s covers every %s address: every client over %s is refused "+
			"(190 banned) and the connected ones are closed, %s\n", value, family, family, end)
	}
}

func newBansListCmd(o *adminFlags) *cobra.Command {
	var kind string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List active bans",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("kind") && kind == "" {
				// Read as no filter, it listed every kind.
				return configErrorf("--kind is empty: want cid, ip or net, or leave it out")
			}
			switch kind {
			case "", identity.KindCID, identity.KindIP, identity.KindNet:
			default:
				return configErrorf("--kind %q: want cid, ip or net", kind)
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			all, _, err := listPages(0, 1000, "", func(n int, cursor string) ([]admin.Ban, string, error) {
				page, err := c.ListBans(cmd.Context(), kind, n, cursor)
				return page.Bans, page.Next, err
			})
			if err != nil {
				return explain(c, err, "")
			}
			if o.output == "json" {
				return writeJSONOut(cmd.OutOrStdout(), admin.BanList{Bans: all})
			}
			return writeBans(cmd.OutOrStdout(), all)
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "", "only bans of this kind: cid, ip or net")
	return cmd
}

func newBansRmCmd(o *adminFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "rm KIND VALUE",
		Short: "Lift a ban",
		Args:  usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			// The ban lifted is named as it is kept and listed (10.1.0.0/16
			// for 10.1.2.3/16), not as typed (CLI audit).
			value, err := identity.ParseBanValue(args[0], args[1])
			if err != nil {
				return configErrorf("%s", trimBanErr(err))
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			if err := c.DeleteBan(cmd.Context(), args[0], args[1]); err != nil {
				return explain(c, err, "")
			}
			if o.output == "json" {
				return writeJSONOut(cmd.OutOrStdout(), map[string]any{"kind": args[0], "value": value, "lifted": true})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "ban %s %s lifted\n", args[0], value)
			return err
		},
	}
}

func writeBans(w io.Writer, bans []admin.Ban) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tVALUE\tBY\tAT\tUNTIL\tREASON")
	for _, b := range bans {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", printable(b.Kind), printable(b.Value), printable(b.By), printable(b.At), orDash(b.Until), orDash(&b.Reason))
	}
	return tw.Flush()
}

func trimBanErr(err error) string {
	msg := err.Error()
	const p = "identity: bad ban: "
	if len(msg) > len(p) && msg[:len(p)] == p {
		return msg[len(p):]
	}
	return msg
}
