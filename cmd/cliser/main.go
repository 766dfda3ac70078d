// Command cliser is the cliser server, its agent and its operator tools in
// one binary: serve, agent, clients, credentials, bans, events, status,
// health, version and completion. This package only parses
// flags and wires packages together; behaviour lives in the packages.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	if err := execute(newRootCmd(), os.Stdout); err != nil {
		printError(os.Stderr, err)
		os.Exit(exitCode(err))
	}
}

// execute runs root with its output to out, and fails a command that
// did its work but could not print it (a full disk under a redirect):
// `credentials rm k1 > /dev/full` exited 0 (error-path audit).
func execute(root *cobra.Command, out io.Writer) error {
	w := &outWriter{w: out}
	root.SetOut(w)
	err := root.Execute()
	// Also when the command returned the write's error as it was: `bans
	// add` into a closed pipe said "write /dev/stdout: broken pipe", not
	// that the ban was made.
	if w.err != nil && (err == nil || err == w.err) {
		err = fmt.Errorf("done, but its output could not be written: %w", w.err)
	}
	return err
}

// outWriter keeps the first error of the writes to w.
type outWriter struct {
	w   io.Writer
	err error
}

func (o *outWriter) Write(p []byte) (int, error) {
	n, err := o.w.Write(p)
	if err != nil && o.err == nil {
		o.err = err
	}
	return n, err
}

// printError writes err a line at a time, each with the program's name:
// a command that failed for several IDs says so a line each, and every
// line reads as cliser's, with its control characters escaped.
func printError(w io.Writer, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintln(w, "cliser:", escapedLine(line))
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "cliser",
		Short:         "A connection manager for fleets of long-lived clients",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(), newVersionCmd())
	for _, add := range extraCommands {
		root.AddCommand(add())
	}
	root.Version = versionString()
	root.SetVersionTemplate("{{.Version}}\n")
	markUsageErrors(root)
	return root
}

// extraCommands lets other files of this package add their subcommands
// (agent, clients, health, status, events, credentials, bans) without
// editing the root.
var extraCommands []func() *cobra.Command

// exitCode maps an error to the process's exit status: 2 for a usage or
// configuration mistake, 1 otherwise.
func exitCode(err error) int {
	var ce *configError
	if errors.As(err, &ce) {
		return 2
	}
	return 1
}

// doesWork marks the command newCmd makes as one whose work is done
// before it prints: a write to a pipe whose reader quit fails with EPIPE,
// which execute and the command report, rather than end the process by
// Go's default for SIGPIPE on stdout, unsaid (exit 141). `credentials add
// | a reader that quit` lost the new secrets without a word (identity
// audit). Commands that only read keep the default: `list | head` ends
// quietly.
func doesWork(newCmd func(*adminFlags) *cobra.Command) func(*adminFlags) *cobra.Command {
	return func(o *adminFlags) *cobra.Command {
		cmd := newCmd(o)
		run := cmd.RunE
		cmd.RunE = func(c *cobra.Command, args []string) error {
			signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
			return run(c, args)
		}
		return cmd
	}
}
