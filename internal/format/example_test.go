package format_test

import (
	"fmt"

	"stor/internal/format"
)

func ExampleIdentify() {
	// The first bytes of a PNG, uploaded under a JPEG's name.
	head := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	f, ok := format.Identify(head, "holiday.jpg")
	fmt.Println(f.Key, f.Kind, f.ContentType, ok)

	// Text is plain text only when its name says so.
	_, ok = format.Identify([]byte("hello\n"), "movie.mp4")
	fmt.Println(ok)
	// Output:
	// png image image/png true
	// false
}
