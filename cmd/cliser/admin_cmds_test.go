package main

import (
	"strconv"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
)

// Any character a terminal does not print as itself is escaped, not only
// C0 controls: a bidi override alone (U+202E) reorders the line, DEL and
// the C1 CSI (U+009B) act in some terminals. The binary test's reason held
// an ESC too, so a check of C0 alone passed it (mutation audit).
func TestPrintableEscapesEveryNonPrintingCharacter(t *testing.T) {
	for _, s := range []string{"x\u202egnp.exe", "a\x7fb", "\u009b31mred", "zero\u200bwidth"} {
		assert.Equal(t, strconv.Quote(s), printable(s), "%q", s)
	}
	for _, s := range []string{"plain text", "café ünïcode", ""} {
		assert.Equal(t, s, printable(s))
	}
}

// docs/operations.md gives --timeout 10s as the bound of each request of
// the admin commands; 5s passed every test (mutation audit).
func TestAdminCommandsTimeoutDefault(t *testing.T) {
	for _, cmd := range []func() *cobra.Command{newClientsCmd, newCredentialsCmd, newBansCmd} {
		c := cmd()
		f := c.PersistentFlags().Lookup("timeout")
		if assert.NotNil(t, f, c.Name()) {
			assert.Equal(t, "10s", f.DefValue, c.Name())
		}
	}
}
