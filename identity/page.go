package identity

import "slices"

// page is up to limit values of m whose entries keep accepts, in key order
// (cmp), and whether more follow. Call it under s.mu.
func page[K comparable, V any](m map[K]*V, keep func(K, *V) bool, cmp func(a, b K) int, limit int) ([]V, bool) {
	keys := make([]K, 0, len(m))
	for k, v := range m {
		if keep(k, v) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, cmp)
	more := len(keys) > limit
	keys = keys[:min(len(keys), limit)]
	out := make([]V, len(keys))
	for i, k := range keys {
		out[i] = *m[k]
	}
	return out, more
}
