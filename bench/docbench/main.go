// Command docbench compares stor's warm Office converter (doctask.Converter:
// one long-lived soffice driven over UNO) with `soffice --convert-to pdf`
// started cold per file, on N two-page docx files it writes first (with
// LibreOffice, in one soffice run).
//
//	go run ./bench/docbench -n 100
//
// Baselines: "cold" gives every file a fresh profile (what a naive
// `soffice --convert-to pdf` in a clean environment does); "cold-profile"
// reuses one profile across the cold starts (the kinder baseline).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"stor/internal/doctask"
)

func main() {
	n := flag.Int("n", 100, "docx files")
	dir := flag.String("dir", "", "work dir (default: a temp dir, removed)")
	skipCold := flag.Bool("skip-cold", false, "only the warm converter")
	coldN := flag.Int("cold-n", 0, "convert only the first N files cold (0 = all); ratios are per file")
	flag.Parse()
	if *dir == "" {
		d, err := os.MkdirTemp("", "docbench-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	docs := makeDocs(*dir, *n)
	ctx := context.Background()

	warm, err := doctask.NewConverter(doctask.ConverterConfig{ProfileDir: filepath.Join(*dir, "warm-profile")})
	if err != nil {
		log.Fatal(err)
	}
	tw := run(ctx, "warm (stor)", warm, docs, *dir)
	warm.Close()
	if *skipCold {
		return
	}
	if *coldN > 0 && *coldN < len(docs) {
		docs = docs[:*coldN]
	}
	cold, err := doctask.NewConverter(doctask.ConverterConfig{ProfileDir: filepath.Join(*dir, "cold-profile"), Cold: true})
	if err != nil {
		log.Fatal(err)
	}
	tc := run(ctx, "cold, fresh profile per file", cold, docs, *dir)
	// Cold starts on one reused profile.
	prof := filepath.Join(*dir, "shared-profile")
	start := time.Now()
	for i, d := range docs {
		out := filepath.Join(*dir, fmt.Sprintf("out-shared-%d", i))
		cmd := exec.Command("soffice", "-env:UserInstallation=file://"+prof, "--headless", "--norestore",
			"--convert-to", "pdf", "--outdir", out, d)
		cmd.Env = append(os.Environ(), "HOME="+prof)
		if b, err := cmd.CombinedOutput(); err != nil {
			log.Fatalf("soffice: %v: %s", err, b)
		}
	}
	ts := time.Since(start)
	fmt.Printf("%-32s %3d files %8.1f s  %6.0f ms/file\n", "cold, one reused profile", len(docs), ts.Seconds(), float64(ts.Milliseconds())/float64(len(docs)))
	perW := tw.Seconds() / float64(*n)
	perC, perS := tc.Seconds()/float64(len(docs)), ts.Seconds()/float64(len(docs))
	fmt.Printf("per file: warm is %.1f× faster than cold (fresh profile), %.1f× than cold (reused profile)\n",
		perC/perW, perS/perW)
}

func run(ctx context.Context, name string, c *doctask.Converter, docs []string, dir string) time.Duration {
	start := time.Now()
	var first time.Duration
	for i, d := range docs {
		out := filepath.Join(dir, fmt.Sprintf("out-%s-%d", strings.Fields(name)[0], i))
		if err := os.MkdirAll(out, 0o700); err != nil {
			log.Fatal(err)
		}
		if _, err := c.ToPDF(ctx, d, out); err != nil {
			log.Fatalf("%s: %s: %v", name, d, err)
		}
		if i == 0 {
			first = time.Since(start)
		}
	}
	t := time.Since(start)
	fmt.Printf("%-32s %3d files %8.1f s  %6.0f ms/file (first %.1f s)\n", name, len(docs), t.Seconds(),
		float64(t.Milliseconds())/float64(len(docs)), first.Seconds())
	return t
}

// makeDocs writes n two-page flat ODF texts and converts them to docx in
// one soffice run.
func makeDocs(dir string, n int) []string {
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o700); err != nil {
		log.Fatal(err)
	}
	var fodts, docs []string
	for i := range n {
		p := filepath.Join(src, fmt.Sprintf("doc%03d.fodt", i))
		body := strings.Repeat(fmt.Sprintf("Document %d, a paragraph of ordinary prose for the benchmark. ", i), 8)
		x := `<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.text">
<office:automatic-styles><style:style style:name="PB" style:family="paragraph"><style:paragraph-properties fo:break-before="page"/></style:style></office:automatic-styles>
<office:body><office:text><text:h>Page one</text:h><text:p>` + body + `</text:p><text:h text:style-name="PB">Page two</text:h><text:p>` + body + `</text:p></office:text></office:body></office:document>
`
		if err := os.WriteFile(p, []byte(x), 0o600); err != nil {
			log.Fatal(err)
		}
		fodts = append(fodts, p)
		docs = append(docs, filepath.Join(dir, fmt.Sprintf("doc%03d.docx", i)))
	}
	prof := filepath.Join(dir, "maker-profile")
	cmd := exec.Command("soffice", append([]string{"-env:UserInstallation=file://" + prof, "--headless", "--norestore",
		"--convert-to", "docx", "--outdir", dir}, fodts...)...)
	cmd.Env = append(os.Environ(), "HOME="+prof)
	if b, err := cmd.CombinedOutput(); err != nil {
		log.Fatalf("making docx: %v: %s", err, b)
	}
	return docs
}
