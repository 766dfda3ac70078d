package main

import (
	"bytes"
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
	if err := writeReportFiles(base, &rep); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "report: %s.md\n", base)
	return nil
}

// writeReportFiles writes a compare report as base.{png,json,txt,md}, its
// markdown naming the chart beside it.
func writeReportFiles(base string, rep *harness.Report) error {
	rep.Chart = filepath.Base(base + ".png")
	for _, f := range []struct {
		ext   string
		write func(io.Writer) error
	}{{".png", rep.DrawChart}, {".json", rep.WriteJSON}, {".txt", rep.BenchLines}, {".md", rep.Markdown}} {
		if err := writeFile(base+f.ext, f.write); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path string, write func(w io.Writer) error) error {
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// writeReport writes <dir>/<name>.json and .md (making dir if need be),
// prints the markdown and returns the files' common path.
func writeReport(dir, name string, writeJSON, markdown func(io.Writer) error) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	base := filepath.Join(dir, name)
	if err := writeFile(base+".json", writeJSON); err != nil {
		return "", err
	}
	if err := writeFile(base+".md", markdown); err != nil {
		return "", err
	}
	_ = markdown(os.Stdout)
	return base, nil
}

// tableHead writes a markdown table's header row of cols and the row of
// dashes under it.
func tableHead(w io.Writer, cols ...string) {
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(cols, " | "), strings.Repeat(" --- |", len(cols)))
}

// runFailed is the error of a report whose runs had errors, nil if none.
func runFailed(rep *harness.Report) error {
	if fails := rep.Failed(); len(fails) > 0 {
		return fmt.Errorf("the run had errors:\n  %s", strings.Join(fails, "\n  "))
	}
	return nil
}
