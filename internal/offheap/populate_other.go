//go:build unix && !linux

package offheap

// mapPopulate: elsewhere the pages fault in as they are first touched.
const mapPopulate = 0
