package metatask_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stor/internal/config"
)

// hangingExiftool is a stand-in exiftool: it hands every line to the real
// exiftool, except that it stops answering (sleeps) when asked about a
// file that contains the bytes HANG-EXIFTOOL, as exiftool would on a file
// that sends it into an endless loop.
const hangingExiftool = `#!/usr/bin/perl
use strict; use warnings;
open(my $real, '|-', 'exiftool', @ARGV) or die "exiftool: $!";
select((select($real), $| = 1)[0]);
while (my $line = <STDIN>) {
    chomp(my $p = $line);
    if ($p =~ m{^/} && -f $p && open(my $f, '<:raw', $p)) {
        local $/; my $c = <$f>; close $f;
        if (defined $c && index($c, 'HANG-EXIFTOOL') >= 0) { sleep 3600 }
    }
    print $real $line;
}
close $real;
`

func TestMetadataHangingExiftoolFailsInTimeOthersUnaffected(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "exiftool-hangs")
	if err := os.WriteFile(fake, []byte(hangingExiftool), 0o755); err != nil {
		t.Fatal(err)
	}
	const perCall = 3 * time.Second
	n := startNode(t, func(c *config.Config) {
		c.ExiftoolBinary = fake
		c.ExiftoolTimeout = perCall
	})

	hang := makeJPEG(t, dir, "hang.jpg", 40, 30)
	exiftoolWrite(t, hang, "-Comment=HANG-EXIFTOOL")
	ok := makeJPEG(t, dir, "ok.jpg", 40, 30)
	exiftoolWrite(t, ok, "-XMP-dc:Title=Fine")

	start := time.Now()
	hangID := n.upload(t, "hang.jpg", readFile(t, hang))
	okID := n.upload(t, "ok.jpg", readFile(t, ok))

	a, tasks := n.settle(t, hangID, 2*time.Minute)
	took := time.Since(start)
	md := tasks["metadata"]
	if a.State != "failed" || md.State != "failed" {
		t.Fatalf("hanging file: asset %s, metadata task %s (%s)", a.State, md.State, deref(md.LastError))
	}
	if !strings.Contains(deref(md.LastError), "did not finish") || !strings.Contains(deref(md.LastError), perCall.String()) {
		t.Errorf("reason = %q", deref(md.LastError))
	}
	// One attempt (a hang is permanent), bounded by the per-call timeout.
	if took > 30*time.Second {
		t.Errorf("failing took %s with a %s per-call timeout", took, perCall)
	}
	if tasks["identify"].State != "succeeded" {
		t.Errorf("identify of the hanging file: %+v", tasks["identify"])
	}

	b, _ := n.settle(t, okID, 2*time.Minute)
	if b.State != "ready" || b.Title != "Fine" {
		t.Errorf("other asset: state %s, title %q", b.State, b.Title)
	}
	// The killed process was replaced: later files are read.
	later := n.upload(t, "later.jpg", readFile(t, ok))
	if c, _ := n.settle(t, later, 2*time.Minute); c.State != "ready" || c.Title != "Fine" {
		t.Errorf("asset after the hang: state %s, title %q", c.State, c.Title)
	}

	t.Run("not extracted, no text, other project", func(t *testing.T) {
		st, _, body := n.do(t, "GET", "/api/v1/assets/"+hangID+"/metadata", nil, nil)
		if st != 404 || !bytes.Contains(body, []byte(`"no_metadata"`)) {
			t.Errorf("metadata of the failed asset: %d %s", st, body)
		}
		// The text task of an image with no text stores an empty page; an
		// asset of no kind it applies to has none.
		st, _, body = n.do(t, "GET", "/api/v1/assets/nonexistent/text", nil, nil)
		if st != 404 {
			t.Errorf("text of no asset: %d %s", st, body)
		}
		st, _, body = n.do(t, "POST", "/api/v1/tokens", strings.NewReader(`{"name":"other","scopes":["read"],"project":"other"}`), nil)
		if st != 201 {
			t.Fatalf("token: %d %s", st, body)
		}
		var tok struct{ Token string }
		json.Unmarshal(body, &tok)
		for _, p := range []string{"/metadata", "/text", "/metadata.xmp", "/original?embed=1"} {
			st, _, body := n.do(t, "GET", "/api/v1/assets/"+okID+p, nil, map[string]string{"Authorization": "Bearer " + tok.Token})
			if st != 404 {
				t.Errorf("%s with another project's token: %d %s", p, st, body)
			}
		}
	})
}
