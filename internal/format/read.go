package format

import (
	"bytes"
	"encoding/binary"
)

// The readers below never index past the slice: every check that reads a
// length or an offset out of the file goes through them.

// at returns b[off:off+n], or nil when that range is not all inside b.
func at(b []byte, off, n int) []byte {
	if off < 0 || n < 0 || off > len(b) || n > len(b)-off {
		return nil
	}
	return b[off : off+n]
}

// hasAt reports whether b holds sig at off.
func hasAt(b []byte, off int, sig string) bool {
	return bytes.Equal(at(b, off, len(sig)), []byte(sig))
}

// u16 reads a 16-bit integer at off in the given byte order.
func u16(b []byte, off int, order binary.ByteOrder) (uint16, bool) {
	p := at(b, off, 2)
	if p == nil {
		return 0, false
	}
	return order.Uint16(p), true
}

// u32 reads a 32-bit integer at off in the given byte order.
func u32(b []byte, off int, order binary.ByteOrder) (uint32, bool) {
	p := at(b, off, 4)
	if p == nil {
		return 0, false
	}
	return order.Uint32(p), true
}
