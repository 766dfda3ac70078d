//go:build !race

package boltstore_test

const raceOn = false
