//go:build !linux

package events

import bolt "go.etcd.io/bbolt"

// releaseMapped is Linux's alone (resident_linux.go); elsewhere the pages
// the writer and readers touched stay mapped until the kernel wants them.
func releaseMapped(*bolt.DB) {}
