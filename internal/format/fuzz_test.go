package format

import "testing"

// FuzzIdentify checks that Identify never panics and that what it returns is
// always an entry of the table. Plain `go test` runs the seeds only; run it
// for real with
//
//	go test ./internal/format -run '^$' -fuzz FuzzIdentify -fuzztime 30s
func FuzzIdentify(f *testing.F) {
	seeds := [][]byte{
		nil,
		[]byte("\x89PNG\r\n\x1a\n"),
		buildTIFF("II*\x00", width, dngVersion),
		buildTIFF("II*\x00\x00\x00\x00\x00CR\x02\x00\x00\x00\x00\x00", width),
		buildTIFF("MM\x00*"),
		buildOLE("WordDocument"),
		ftyp("mif1", "heic"),
		append(id3(8), flacHead...),
		m2ts(3),
		[]byte("OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x13OpusHead"),
		[]byte("0&\xb2u\x8ef\xcf\x11\xa6\xd9\x00\xaa\x00b\xcel"),
		[]byte("FORM\x00\x00\x00\x00AIFC"),
		[]byte("%!PS-Adobe-3.0\n%%Creator: Adobe Illustrator\n"),
		[]byte("PK\x03\x04"),
		[]byte("hello\n"),
	}
	for _, s := range seeds {
		for _, name := range []string{"", "x.txt", "x.nef", "x.doc", "x.m4a", "x.wma"} {
			f.Add(s, name)
		}
	}
	f.Fuzz(func(t *testing.T, head []byte, name string) {
		got, ok := Identify(head, name)
		if !ok {
			if got != (Format{}) {
				t.Errorf("Identify = %+v with ok false", got)
			}
			return
		}
		if len(head) == 0 {
			t.Errorf("Identify(empty, %q) = %q", name, got.Key)
		}
		if want, found := ByKey(got.Key); !found || want != got {
			t.Errorf("Identify(%q, %q) = %+v, not a table entry", clip(head), name, got)
		}
	})
}
