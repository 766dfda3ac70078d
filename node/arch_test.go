package node

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/cliser/cliser/"

// TestImportsRunOneWay holds the import graph to cmd → node → admin/cluster
// → registry → protocol: the storage and cluster side never depends on the
// HTTP side, and neither depends on the protocol engine. It asks the go
// tool for each package's whole dependency set (not only direct imports),
// so an arrow that comes back through a third package fails too.
func TestImportsRunOneWay(t *testing.T) {
	forbidden := map[string][]string{
		"cluster":  {"admin", "reactor", "node", "ui", "webhook", "client"},
		"admin":    {"reactor", "cluster", "node", "webhook", "ui", "client"},
		"registry": {"admin", "cluster", "reactor", "node", "identity", "events", "webhook", "ui", "client"},
		"protocol": {"registry", "admin", "cluster", "reactor", "node", "identity", "events", "webhook", "ui", "client"},
		"reactor":  {"admin", "cluster", "node", "webhook", "ui", "client"},
		"events":   {"admin", "cluster", "reactor", "registry", "node", "identity", "webhook", "ui", "client"},
		"webhook":  {"admin", "cluster", "reactor", "node", "registry", "identity", "ui", "client"},
		"identity": {"admin", "cluster", "reactor", "registry", "node", "events", "webhook", "ui", "client"},
		// The client speaks the wire only through protocol; the
		// dashboard's files know no Go package.
		"client": {"admin", "cluster", "reactor", "registry", "node", "identity", "events", "webhook", "ui"},
		"ui":     {"admin", "cluster", "reactor", "registry", "node", "identity", "events", "webhook", "client", "protocol"},
	}
	// internal/* are libraries under every package: none imports one of
	// them (testkit, the tests' kit, speaks the protocol).
	for _, pkg := range goListInternal(t) {
		if !strings.HasSuffix(pkg, "/testkit") {
			forbidden[strings.TrimPrefix(pkg, module)] = topLevel
		}
	}
	for pkg, bad := range forbidden {
		deps := goListDeps(t, module+pkg)
		for _, b := range bad {
			if deps[module+b] {
				t.Errorf("%s depends on %s (go list -deps ./%s): arrows must run cmd → node → admin/cluster → registry → protocol", pkg, b, pkg)
			}
		}
	}
}

// topLevel are the packages at the top of the module.
var topLevel = []string{"admin", "client", "cluster", "events", "identity", "node", "protocol", "reactor", "registry", "ui", "webhook"}

// goListInternal names the packages under internal/.
func goListInternal(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "list", module+"internal/...").Output()
	if err != nil {
		t.Fatalf("go list internal/...: %v", err)
	}
	return strings.Fields(string(out))
}

// goListDeps is the set of packages pkg depends on, itself included.
func goListDeps(t *testing.T, pkg string) map[string]bool {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	deps := map[string]bool{}
	for _, line := range strings.Fields(string(out)) {
		deps[line] = true
	}
	if !deps[pkg] {
		t.Fatalf("go list -deps %s did not name the package itself; got %d lines", pkg, len(deps))
	}
	return deps
}
