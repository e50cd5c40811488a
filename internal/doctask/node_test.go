package doctask_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/jpeg"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"stor/internal/auth"
	"stor/internal/config"
	"stor/internal/logging"
	"stor/internal/node"
	"stor/internal/node/nodetest"
)

// startNode runs a node with this build's tasks (node.Open) on loopback;
// nodetest's helpers talk to it.
func startNode(t *testing.T) *nodetest.Node {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Addr = ln.Addr().String()
	cfg.DataDir = t.TempDir()
	cfg.BootstrapToken = nodetest.AdminToken
	cfg.Workers, cfg.HeavyWorkers = 3, 2
	cfg.PollInterval = 50 * time.Millisecond
	cfg.RetryBase = 200 * time.Millisecond
	cfg.MaxLoadPerCPU = 0 // the test machine is shared and often busy
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	ctx := context.Background()
	n, err := node.Open(ctx, cfg, logging.New(logs, "json", "info"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Bootstrap(ctx, n.DB.Writer(), cfg.BootstrapToken); err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Serve(ln) }()
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		n.Shutdown(sctx)
		n.Stop(sctx)
		<-done
		n.Close()
		if t.Failed() {
			l := logs.String()
			if len(l) > 8000 {
				l = l[len(l)-8000:]
			}
			t.Logf("node logs (tail):\n%s", l)
		}
	})
	return &nodetest.Node{Node: n, URL: "http://" + cfg.Addr, DataDir: cfg.DataDir, Token: nodetest.AdminToken,
		Client: &http.Client{Timeout: 2 * time.Minute}}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type assetView struct {
	ID        string            `json:"id"`
	State     string            `json:"state"`
	Error     *string           `json:"error"`
	Format    string            `json:"format"`
	PageCount int               `json:"page_count"`
	Links     map[string]string `json:"links"`
}

type pagesView struct {
	PageCount int `json:"page_count"`
	Items     []struct {
		Page      int    `json:"page"`
		Width     int    `json:"width"`
		Height    int    `json:"height"`
		Image     string `json:"image"`
		Thumbnail string `json:"thumbnail"`
		IIIF      string `json:"iiif"`
	} `json:"items"`
}

func waitDone(t *testing.T, n *nodetest.Node, id string, within time.Duration) assetView {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var a assetView
		n.Get(t, "/api/v1/assets/"+id, n.Token, nil).JSON(t, &a)
		if a.State == "ready" || a.State == "failed" {
			if settled(t, n, id) {
				return a
			}
		}
		if time.Now().After(deadline) {
			r := n.Get(t, "/api/v1/assets/"+id+"/tasks", n.Token, nil)
			t.Fatalf("asset %s still %s after %v; tasks: %s", id, a.State, within, r.Body)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

func settled(t *testing.T, n *nodetest.Node, id string) bool {
	var ts struct{ Items []struct{ State string } }
	n.Get(t, "/api/v1/assets/"+id+"/tasks", n.Token, nil).JSON(t, &ts)
	for _, tk := range ts.Items {
		switch tk.State {
		case "queued", "running", "retrying":
			return false
		}
	}
	return true
}

// soffice converts src to format ext with LibreOffice (cold, its own
// profile) and returns the new file.
func soffice(t *testing.T, dir, src, ext string) string {
	t.Helper()
	prof := filepath.Join(dir, "maker-"+ext)
	cmd := exec.Command("soffice", "-env:UserInstallation=file://"+prof, "--headless", "--norestore",
		"--convert-to", ext, "--outdir", dir, src)
	cmd.Env = append(os.Environ(), "HOME="+prof)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("soffice --convert-to %s: %v: %s", ext, err, b)
	}
	out := strings.TrimSuffix(src, filepath.Ext(src)) + "." + ext
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("soffice wrote no %s: %v", ext, err)
	}
	return out
}

func write(t *testing.T, path, s string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// fodt is a flat ODF text document, one paragraph a page.
func fodt(paras ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.text">
<office:automatic-styles><style:style style:name="PB" style:family="paragraph"><style:paragraph-properties fo:break-before="page"/></style:style></office:automatic-styles>
<office:body><office:text>`)
	for i, p := range paras {
		style := ""
		if i > 0 {
			style = ` text:style-name="PB"`
		}
		fmt.Fprintf(&b, "<text:p%s>%s</text:p>\n", style, p)
	}
	b.WriteString("</office:text></office:body></office:document>\n")
	return b.String()
}

// fodp is a flat ODF presentation, one text frame a slide.
func fodp(slides ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.presentation">
<office:body><office:presentation>`)
	for i, s := range slides {
		fmt.Fprintf(&b, `<draw:page draw:name="s%d"><draw:frame svg:x="2cm" svg:y="2cm" svg:width="22cm" svg:height="4cm"><draw:text-box><text:p>%s</text:p></draw:text-box></draw:frame></draw:page>`+"\n", i, s)
	}
	b.WriteString("</office:presentation></office:body></office:document>\n")
	return b.String()
}

// pdf writes a PDF by hand: one page per size (points), each with a line
// of text ("" for none).
func pdf(sizes [][2]int, texts []string) []byte {
	var b bytes.Buffer
	var offs []int
	obj := func(s string) {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), s)
	}
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	n := len(sizes)
	// 1 catalog, 2 pages, 3 font, then page i at 4+2i and its content at 5+2i.
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	var kids []string
	for i := range n {
		kids = append(kids, fmt.Sprintf("%d 0 R", 4+2*i))
	}
	obj(fmt.Sprintf("<< /Type /Pages /Count %d /Kids [%s] >>", n, strings.Join(kids, " ")))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	for i, sz := range sizes {
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>",
			sz[0], sz[1], 5+2*i))
		content := ""
		if texts[i] != "" {
			content = fmt.Sprintf("BT /F1 %d Tf 40 %d Td (%s) Tj ET", max(12, sz[0]/40), sz[1]/2, texts[i])
		}
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return b.Bytes()
}

func checkPages(t *testing.T, n *nodetest.Node, a assetView, want int, wantText ...string) pagesView {
	t.Helper()
	if a.State != "ready" {
		r := n.Get(t, "/api/v1/assets/"+a.ID+"/tasks", n.Token, nil)
		t.Fatalf("%s: state %s (%v); tasks: %s", a.Format, a.State, a.Error, r.Body)
	}
	if a.PageCount != want {
		t.Errorf("%s: page_count %d, want %d", a.Format, a.PageCount, want)
	}
	var pv pagesView
	r := n.Get(t, "/api/v1/assets/"+a.ID+"/pages", n.Token, nil)
	if r.Status != 200 {
		t.Fatalf("%s: pages: %d %s", a.Format, r.Status, r.Body)
	}
	r.JSON(t, &pv)
	if len(pv.Items) != want {
		t.Fatalf("%s: %d pages listed, want %d", a.Format, len(pv.Items), want)
	}
	for i, p := range pv.Items {
		if p.Page != i+1 || max(p.Width, p.Height) > 2400 || p.Width <= 0 || p.Height <= 0 || p.Thumbnail == "" {
			t.Errorf("%s: page %d: %+v", a.Format, i+1, p)
		}
	}
	// Page 1's image, its IIIF info and the asset thumbnail are served.
	img := n.Get(t, strings.TrimPrefix(pv.Items[0].Image, n.URL), n.Token, nil)
	cfg, _, err := image.DecodeConfig(bytes.NewReader(img.Body))
	if img.Status != 200 || err != nil || cfg.Width != pv.Items[0].Width {
		t.Errorf("%s: page image: %d %v %v", a.Format, img.Status, err, cfg)
	}
	if r := n.Get(t, strings.TrimPrefix(pv.Items[0].IIIF, n.URL), n.Token, nil); r.Status != 200 || !bytes.Contains(r.Body, []byte(a.ID+"~p1")) {
		t.Errorf("%s: iiif info: %d %.300s", a.Format, r.Status, r.Body)
	}
	if r := n.Get(t, strings.TrimPrefix(a.Links["thumbnail"], n.URL), n.Token, nil); r.Status != 200 {
		t.Errorf("%s: thumbnail %s: %d", a.Format, a.Links["thumbnail"], r.Status)
	}
	if len(wantText) > 0 {
		var tv struct {
			Pages []struct {
				Page int
				Text string
			}
		}
		n.Get(t, "/api/v1/assets/"+a.ID+"/text", n.Token, nil).JSON(t, &tv)
		all := ""
		for _, p := range tv.Pages {
			all += p.Text + "\n"
		}
		for _, w := range wantText {
			if !strings.Contains(all, w) {
				t.Errorf("%s: text %q lacks %q", a.Format, all, w)
			}
		}
	}
	return pv
}

// TestOfficeDocuments: docx, xlsx and pptx written by LibreOffice are
// converted by the warm converter, paged, thumbnailed and their text read.
func TestOfficeDocuments(t *testing.T) {
	dir := t.TempDir()
	var docx, xlsx, pptx string
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		docx = soffice(t, dir, write(t, filepath.Join(dir, "letter.fodt"), fodt("Alpha page about museums", "Beta page about paintings")), "docx")
	}()
	go func() {
		defer wg.Done()
		xlsx = soffice(t, dir, write(t, filepath.Join(dir, "sheet.csv"), "Name,Count\nGamma apples,12\n"), "xlsx")
	}()
	go func() {
		defer wg.Done()
		pptx = soffice(t, dir, write(t, filepath.Join(dir, "deck.fodp"), fodp("Delta slide one", "Epsilon slide two", "Zeta slide three")), "pptx")
	}()
	wg.Wait()
	if t.Failed() {
		return
	}
	n := startNode(t)
	ids := map[string]string{}
	for _, p := range []string{docx, xlsx, pptx} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		ids[filepath.Ext(p)] = n.MustUpload(t, n.Token, filepath.Base(p), b).ID
	}
	checkPages(t, n, waitDone(t, n, ids[".docx"], 4*time.Minute), 2, "Alpha page about museums", "Beta page about paintings")
	checkPages(t, n, waitDone(t, n, ids[".xlsx"], 2*time.Minute), 1, "Gamma apples")
	pv := checkPages(t, n, waitDone(t, n, ids[".pptx"], 2*time.Minute), 3, "Delta slide one", "Zeta slide three")
	if w, h := pv.Items[0].Width, pv.Items[0].Height; w != 2400 || h >= w {
		t.Errorf("pptx slide image %dx%d, want landscape 2400 wide", w, h)
	}
	var derivs []struct {
		Name        string `json:"name"`
		ContentType string `json:"content_type"`
	}
	n.Get(t, "/api/v1/assets/"+ids[".docx"]+"/derivatives", n.Token, nil).JSON(t, &derivs)
	found := false
	for _, d := range derivs {
		found = found || (d.Name == "pdf" && d.ContentType == "application/pdf")
	}
	if !found {
		t.Errorf("docx has no pdf derivative: %+v", derivs)
	}
}

// TestPDFs: a 50-page PDF, an encrypted one and one 20,000 pt page.
func TestPDFs(t *testing.T) {
	dir := t.TempDir()
	var sizes [][2]int
	var texts []string
	for i := range 50 {
		sizes = append(sizes, [2]int{612, 792})
		texts = append(texts, fmt.Sprintf("Page number %d of fifty", i+1))
	}
	fifty := pdf(sizes, texts)
	huge := pdf([][2]int{{20000, 20000}}, []string{"Enormous poster"})
	plain := write(t, filepath.Join(dir, "plain.pdf"), string(pdf([][2]int{{595, 842}}, []string{"Secret minutes"})))
	enc := filepath.Join(dir, "enc.pdf")
	if b, err := exec.Command("qpdf", "--encrypt", "userpw", "ownerpw", "256", "--", plain, enc).CombinedOutput(); err != nil {
		t.Fatalf("qpdf: %v: %s", err, b)
	}
	encB, err := os.ReadFile(enc)
	if err != nil {
		t.Fatal(err)
	}
	tif := filepath.Join(dir, "multi.tif")
	if b, err := exec.Command("/usr/bin/convert", "-size", "300x200", "xc:red", "-size", "200x300", "xc:blue",
		"-size", "3000x1000", "xc:green", tif).CombinedOutput(); err != nil {
		t.Fatalf("convert: %v: %s", err, b)
	}
	tifB, err := os.ReadFile(tif)
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t)
	idTIF := n.MustUpload(t, n.Token, "multi.tif", tifB).ID
	idFifty := n.MustUpload(t, n.Token, "fifty.pdf", fifty).ID
	idEnc := n.MustUpload(t, n.Token, "enc.pdf", encB).ID
	idHuge := n.MustUpload(t, n.Token, "huge.pdf", huge).ID

	start := time.Now()
	a := waitDone(t, n, idEnc, time.Minute)
	if a.State != "failed" || a.Error == nil || !strings.Contains(*a.Error, "encrypted PDF") {
		r := n.Get(t, "/api/v1/assets/"+idEnc+"/tasks", n.Token, nil)
		t.Fatalf("encrypted PDF: state %s, error %v; tasks %s", a.State, a.Error, r.Body)
	}
	t.Logf("encrypted PDF failed after %v: %v", time.Since(start), *a.Error)

	pv := checkPages(t, n, waitDone(t, n, idHuge, 2*time.Minute), 1, "Enormous poster")
	if p := pv.Items[0]; p.Width != 2400 || p.Height != 2400 {
		t.Errorf("20,000 pt page rendered %dx%d, want 2400x2400", p.Width, p.Height)
	}
	pv = checkPages(t, n, waitDone(t, n, idTIF, 2*time.Minute), 3)
	if got := fmt.Sprint(pv.Items[0].Width, pv.Items[0].Height, pv.Items[1].Width, pv.Items[1].Height, pv.Items[2].Width, pv.Items[2].Height); got != "300 200 200 300 2400 800" {
		t.Errorf("TIFF page sizes %s, want 300 200 200 300 2400 800", got)
	}
	pv = checkPages(t, n, waitDone(t, n, idFifty, 4*time.Minute), 50, "Page number 1 of fifty", "Page number 50 of fifty")
	if p := pv.Items[49]; p.Height != 2400 || p.Width != 1855 {
		t.Errorf("letter page rendered %dx%d, want 1855x2400", p.Width, p.Height)
	}
}

// Illustrator files from before Illustrator 9 are PostScript, not PDF:
// Ghostscript turns them into a PDF (the artwork's bounding box as the
// page), then the usual page path; one Ghostscript cannot run fails
// with that reason.
func TestIllustratorPostScript(t *testing.T) {
	old := "%!PS-Adobe-3.0 EPSF-3.0\n%%Creator: Adobe Illustrator(R) 8.0\n%%BoundingBox: 0 0 200 100\n%%EndComments\n" +
		"/Helvetica findfont 20 scalefont setfont\n20 40 moveto (Hello Illustrator) show\nshowpage\n%%EOF\n"
	bad := "%!PS-Adobe-3.0\n%%Creator: Adobe Illustrator(R) 8.0\n%%EndComments\n/foo bar undefinedop\n"
	n := startNode(t)
	idOld := n.MustUpload(t, n.Token, "logo.ai", []byte(old)).ID
	idBad := n.MustUpload(t, n.Token, "broken.ai", []byte(bad)).ID

	a := waitDone(t, n, idOld, 3*time.Minute)
	if a.Format != "ai" {
		t.Errorf("format %q, want ai", a.Format)
	}
	pv := checkPages(t, n, a, 1)
	// 200 × 100 pt at the 300 dpi cap: 834 × 417 pixels (pdftoppm rounds up).
	if p := pv.Items[0]; p.Width != 834 || p.Height != 417 {
		t.Errorf("page rendered %dx%d, want 834x417 (the 200x100 pt bounding box at 300 dpi)", p.Width, p.Height)
	}
	img := n.Get(t, strings.TrimPrefix(pv.Items[0].Image, n.URL), n.Token, nil)
	if img.Status != 200 || img.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("page image: %d %s", img.Status, img.Header.Get("Content-Type"))
	}

	b := waitDone(t, n, idBad, 3*time.Minute)
	if b.State != "failed" || b.Error == nil || !strings.Contains(*b.Error, "Ghostscript could not convert") {
		t.Errorf("broken PostScript .ai: state %s, error %v", b.State, b.Error)
	}
}
