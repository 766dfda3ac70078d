package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

// newHealthCmd is `cliser health`: a probe for places without a shell or
// curl (a distroless container's HEALTHCHECK). Exit 0 when the server
// answers 200, 1 when it does not, 2 for a usage mistake.
func newHealthCmd() *cobra.Command {
	var addr string
	var ready bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Exit 0 when the server's /healthz (or --ready: /readyz) answers 200",
		Long: "Probe a running `cliser serve` through its admin listener: GET /healthz, or\n" +
			"/readyz with --ready. Exit 0 on 200, 1 otherwise, 2 for a usage mistake.\n" +
			"The address is --admin, else $CLISER_ADMIN, else derived from\n" +
			"$CLISER_ADMIN_LISTEN, else http://127.0.0.1:7071. The probes need no token.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if timeout <= 0 {
				return configErrorf("--timeout must be positive, got %s", timeout)
			}
			c, err := newAPIClient(cmd.Flags().Lookup("admin"), "", timeout)
			if err != nil {
				return err
			}
			path := "/healthz"
			if ready {
				path = "/readyz"
			}
			if err := c.Probe(cmd.Context(), path); err != nil {
				return fmt.Errorf("%s%s: %w", c.Base(), path, err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s%s: ok\n", c.Base(), path)
			return err
		},
	}
	cmd.Flags().StringVar(&addr, "admin", defaultAdmin(), "admin API address (env CLISER_ADMIN)")
	cmd.Flags().BoolVar(&ready, "ready", false, "probe /readyz instead of /healthz")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "how long to wait for the answer")
	return cmd
}
