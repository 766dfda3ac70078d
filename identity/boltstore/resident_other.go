//go:build !linux

package boltstore

import bolt "go.etcd.io/bbolt"

// dropResident is Linux's alone (resident_linux.go); elsewhere the pages
// a Load read stay mapped.
func dropResident(*bolt.Tx) {}
