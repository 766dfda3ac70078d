package main

import (
	"go.uber.org/zap"

	"github.com/cliser/cliser/registry/boltstore"
)

// warnEmptyRegistry says so when the registry file was there but empty:
// bbolt would start on it as on a new one, and every record the operator
// expected would be gone without a word (a full disk or a bad copy, more
// often than a deliberate reset).
func warnEmptyRegistry(store *boltstore.Store, log *zap.Logger) {
	if store.WasEmpty() {
		log.Warn("registry file was empty (zero bytes): starting with an empty registry; "+
			"if records were expected, stop cliser and restore the file from a backup",
			zap.String("file", store.Path()))
	}
}
