package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A log field keeps one name for one thing across the product
// (docs/operations.md#logs): these are the other names it once had, or
// that a new line would reach for first.
var otherNamesForLogFields = map[string]string{
	"id":        "cid (a client) or node (a cluster node)",
	"client_id": "cid",
	"client":    "cid",
	"node_id":   "node",
	"ip":        "cip",
	"port":      "cport",
	"err":       "error (zap.Error)",
	"why":       "cause (an error behind another) or reason (a close)",
}

// TestLogFieldsKeepOneName reads every zap field the product's code
// writes (zap.String("key", ...) and its kin) and refuses the other names.
func TestLogFieldsKeepOneName(t *testing.T) {
	fset := token.NewFileSet()
	seen := 0
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != repoRoot {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			key, ok := zapFieldKey(n)
			if !ok {
				return true
			}
			seen++
			if want, bad := otherNamesForLogFields[key]; bad {
				t.Errorf("%s: log field %q: name it %s", fset.Position(n.Pos()), key, want)
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	assert.Greater(t, seen, 100, "the walk found the product's log fields")
}

// zapFieldKey is the key of a zap field constructor's call with a
// literal key, as zap.String("cid", ...).
func zapFieldKey(n ast.Node) (string, bool) {
	call, ok := n.(*ast.CallExpr)
	if !ok || len(call.Args) == 0 {
		return "", false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return "", false
	}
	if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "zap" {
		return "", false
	}
	lit, ok := call.Args[0].(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	key, err := strconv.Unquote(lit.Value)
	return key, err == nil
}
