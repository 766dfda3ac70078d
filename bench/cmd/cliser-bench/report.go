package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cliser/cliser/bench/harness"
)

// report renders a run's JSON again (after a change to the report's
// layout or derived figures): FILE.json gives FILE.md, FILE.png, FILE.txt.
func report(args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	from := fs.String("from", "", "a report's .json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	base, ok := strings.CutSuffix(*from, ".json")
	if !ok {
		return fmt.Errorf("--from %q: want a report's .json", *from)
	}
	b, err := os.ReadFile(*from)
	if err != nil {
		return err
	}
	var rep harness.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("%s: %w", *from, err)
	}
	for _, r := range rep.Results {
		r.FitSlope()
	}
	rep.Chart = filepath.Base(base + ".png")
	for path, write := range map[string]func(io.Writer) error{
		base + ".json": rep.WriteJSON,
		base + ".png":  rep.DrawChart,
		base + ".txt":  rep.BenchLines,
		base + ".md":   rep.Markdown,
	} {
		if err := writeFile(path, write); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "report: %s.md\n", base)
	return nil
}
