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
		"cluster":  {"admin", "reactor", "node", "ui", "webhook"},
		"admin":    {"reactor", "cluster", "node"},
		"registry": {"admin", "cluster", "reactor", "node", "identity", "events"},
		"protocol": {"registry", "admin", "cluster", "reactor", "node"},
		"reactor":  {"admin", "cluster", "node"},
		"events":   {"admin", "cluster", "reactor", "registry", "node"},
		"webhook":  {"admin", "cluster", "reactor", "node"},
		"identity": {"admin", "cluster", "reactor", "registry", "node"},
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
