package harness

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
)

// The project's performance goals are data (targets.json): each has an id
// the report's code judges by, the words the report prints, and a bound.
// Changing a goal is an edit of that file, not of the code that measures.

//go:embed targets.json
var targetsJSON []byte

// goal is one entry of targets.json. A goal has at most one bound; one
// with none (the tick experiment) is judged against other goals' bounds.
type goal struct {
	ID      string   `json:"id"`
	Text    string   `json:"goal"` // may hold {clients}, {keepalive}, {tick}
	AtMost  *float64 `json:"at_most"`
	AtLeast *float64 `json:"at_least"`
}

// goals are targets.json, parsed once; a malformed file is a build mistake
// that every test of the package catches.
var goals = mustGoals(targetsJSON)

func mustGoals(b []byte) map[string]goal {
	var list []goal
	if err := json.Unmarshal(b, &list); err != nil {
		panic(fmt.Sprintf("harness: targets.json: %v", err))
	}
	out := make(map[string]goal, len(list))
	for _, g := range list {
		if g.ID == "" || g.Text == "" || (g.AtMost != nil && g.AtLeast != nil) {
			panic(fmt.Sprintf("harness: targets.json: goal %q needs an id, a text and at most one bound", g.ID))
		}
		out[g.ID] = g
	}
	return out
}

// goalOf is the goal with id; an id missing from targets.json is a bug.
func goalOf(id string) goal {
	g, ok := goals[id]
	if !ok {
		panic("harness: no goal " + id + " in targets.json")
	}
	return g
}

// met says whether v is within the goal's bound (true when it has none).
func (g goal) met(v float64) bool {
	switch {
	case g.AtMost != nil:
		return v <= *g.AtMost
	case g.AtLeast != nil:
		return v >= *g.AtLeast
	}
	return true
}

// text is the goal's words with its placeholders filled in: pairs of
// name, value ("clients", "5000").
func (g goal) text(vars ...string) string {
	if len(vars) == 0 {
		return g.Text
	}
	pairs := make([]string, 0, len(vars))
	for i := 0; i+1 < len(vars); i += 2 {
		pairs = append(pairs, "{"+vars[i]+"}", vars[i+1])
	}
	return strings.NewReplacer(pairs...).Replace(g.Text)
}
