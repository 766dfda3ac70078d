package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cliser/cliser/protocol"
)

// Every usage mistake exits 2, like a configuration mistake (INTERFACE.md):
// cobra's own errors for a bad or unknown flag, a wrong argument count and
// an unknown subcommand are plain errors, so markUsageErrors turns them
// into configErrors that also say where the usage is.

// markUsageErrors makes root's flag and argument errors, and those of every
// command below it, configErrors. Call it once the tree is complete.
func markUsageErrors(root *cobra.Command) {
	// cobra adds these two on Execute; added now, they are walked too.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return configErrorf("%v%s%s; see '%s --help'", flagValueError(err), secretFlagHint(cmd, err), dashIDHint(cmd, err), cmd.CommandPath())
	})
	// Without Args, cobra answers an unknown subcommand of the root with a
	// plain error before any validator runs; with them, the root says it.
	root.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		return unknownCommand(cmd, args[0])
	}
	root.RunE = needsSubcommand
	// `cliser help nosuch` would print the root's help and exit 0.
	for _, c := range root.Commands() {
		if c.Name() == "help" {
			c.Args = helpTopic
		}
	}
	walk(root, func(c *cobra.Command) {
		// cobra checks arguments only of a runnable command: a group
		// (completion) would show its help for an unknown subcommand.
		if !c.Runnable() {
			c.RunE = needsSubcommand
		}
		// A group's flags end at its first argument: --help after an
		// unknown subcommand (`cliser nosuch --help`) would show the
		// group's help and exit 0, as cobra checks no arguments then.
		if c.HasSubCommands() {
			c.Flags().SetInterspersed(false)
		}
		if c != root && c.Args != nil {
			c.Args = usageArgs(c.Args)
		}
	})
}

// needsSubcommand is a group's run: alone it does nothing, a usage
// mistake (exit 2), so its usage goes to stderr and the error names its
// subcommands. --help still shows it on stdout, exit 0.
func needsSubcommand(cmd *cobra.Command, _ []string) error {
	cmd.SetOut(cmd.ErrOrStderr())
	_ = cmd.Help()
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return configErrorf("give a command: %s (see '%s --help')", strings.Join(names, ", "), cmd.CommandPath())
}

// secretFlagHint says where a secret goes, to one who gave it as a flag
// (--password, --admin-token, --webhook-secret) to a command that reads
// it from its environment or a file (--password-file, ...).
func secretFlagHint(cmd *cobra.Command, err error) string {
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok || cmd.Flags().Lookup(name+"-file") == nil {
		return ""
	}
	what := "a " + strings.ReplaceAll(name, "-", " ")
	if strings.HasPrefix(name, "a") {
		what = "an" + what[1:]
	}
	return fmt.Sprintf(" (%s is never a flag, which ps and shell history show: set %s or --%s-file)", what, envName(name), name)
}

// dashIDHint says how to give a client ID that starts with "-" (the field
// rule allows it), which cobra reads as an unknown flag: "-x" said only
// "unknown shorthand flag" (audit).
func dashIDHint(cmd *cobra.Command, err error) string {
	msg := err.Error()
	if !strings.Contains(cmd.Use, "CID") || !strings.HasPrefix(msg, "unknown shorthand flag") && !strings.HasPrefix(msg, "unknown flag") {
		return ""
	}
	return fmt.Sprintf(" (a client ID that starts with - goes after --: %s -- -x)", cmd.CommandPath())
}

// helpTopic refuses `help` of a command that does not exist.
func helpTopic(cmd *cobra.Command, args []string) error {
	target, rest, err := cmd.Root().Find(args)
	if err != nil {
		return configErrorf("%v", err)
	}
	if len(rest) > 0 {
		return unknownCommand(target, rest[0])
	}
	return nil
}

func walk(c *cobra.Command, f func(*cobra.Command)) {
	f(c)
	for _, sub := range c.Commands() {
		walk(sub, f)
	}
}

func unknownCommand(cmd *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's own default, set only on its path
	}
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return configErrorf("%s; see '%s --help'", msg, cmd.CommandPath())
}

// usageArgs makes a wrong argument count a usage mistake (exit 2) that
// shows the command's usage line. An error that already is a configError
// passes as it is.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		err := check(cmd, args)
		var ce *configError
		if err == nil || errors.As(err, &ce) {
			return err
		}
		switch {
		case cmd.HasSubCommands() && len(args) > 0:
			return unknownCommand(cmd, args[0])
		case strings.HasPrefix(err.Error(), "unknown command"): // cobra.NoArgs
			return configErrorf("%s takes no arguments, got %q; usage: %s", cmd.CommandPath(), strings.Join(args, " "), cmd.UseLine())
		}
		return configErrorf("%v; usage: %s", err, cmd.UseLine())
	}
}

// clientIDArgs is check, then every argument must be a client ID: a
// malformed one is a usage mistake (exit 2) told before any request, not
// an HTTP 400 after the valid ones went through.
func clientIDArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return err
		}
		seen := make(map[string]bool, len(args))
		for _, cid := range args {
			if err := checkClientID("", cid); err != nil {
				return err
			}
			// Enrolling an ID twice printed two secrets, the first of
			// them already rotated away.
			if seen[cid] {
				return configErrorf("client ID %q is given twice: give each once", cid)
			}
			seen[cid] = true
		}
		return nil
	}
}

// checkClientID says, as a usage mistake, why cid is not a client ID;
// flag names the flag it came from ("" for an argument).
func checkClientID(flag, cid string) error {
	if protocol.ValidateClientID([]byte(cid)) == nil {
		return nil
	}
	what := fmt.Sprintf("%q", cid)
	if flag != "" {
		what = flag + " " + what
	}
	return configErrorf("%s is not a client ID: 1 to %d of A-Z a-z 0-9 . _ : @ -", what, protocol.MaxClientID)
}
