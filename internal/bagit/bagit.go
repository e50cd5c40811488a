// Package bagit writes and verifies BagIt 1.0 bags (RFC 8493) with SHA-256
// manifests: bagit.txt, bag-info.txt, manifest-sha256.txt,
// tagmanifest-sha256.txt, the payload under data/ and any tag files.
//
// Names inside a bag are the caller's, checked here: relative slash paths
// of safe characters only, never "..", so a bag can be written and read
// without any path escaping its directory.
package bagit

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ErrInvalid is returned (wrapped) for a bag that does not verify.
var ErrInvalid = errors.New("bagit: invalid bag")

// Bag is a bag being written.
type Bag struct {
	dir      string
	manifest map[string]string // data/... → sha256
	tags     map[string]string // tag file → sha256
	oxBytes  int64
	oxCount  int
}

// Create starts a bag in dir, which must not exist or be empty.
func Create(dir string) (*Bag, error) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("bagit: %s is not empty", dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o750); err != nil {
		return nil, fmt.Errorf("bagit: %w", err)
	}
	return &Bag{dir: dir, manifest: map[string]string{}, tags: map[string]string{}}, nil
}

// SafeName reports whether name is a path this package accepts inside a
// bag: slash-separated segments of letters, digits, '.', '_' and '-', no
// segment empty or starting with '.'.
func SafeName(name string) bool {
	if name == "" || len(name) > 255 {
		return false
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg[0] == '.' {
			return false
		}
		for _, r := range seg {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
				return false
			}
		}
	}
	return true
}

func (b *Bag) write(name string, r io.Reader) (string, int64, error) {
	if !SafeName(name) {
		return "", 0, fmt.Errorf("bagit: unsafe name %q", name)
	}
	p := filepath.Join(b.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return "", 0, fmt.Errorf("bagit: %w", err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return "", 0, fmt.Errorf("bagit: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", n, fmt.Errorf("bagit: write %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// AddPayload writes r as data/name and returns its sha256.
func (b *Bag) AddPayload(name string, r io.Reader) (string, int64, error) {
	sum, n, err := b.write("data/"+name, r)
	if err != nil {
		return "", n, err
	}
	b.manifest["data/"+name] = sum
	b.oxBytes += n
	b.oxCount++
	return sum, n, nil
}

// AddTag writes a tag file (outside data/), e.g. "metadata/x.json".
func (b *Bag) AddTag(name string, content []byte) error {
	if strings.HasPrefix(name, "data/") || name == "bagit.txt" || strings.HasPrefix(name, "manifest-") ||
		strings.HasPrefix(name, "tagmanifest-") || name == "bag-info.txt" {
		return fmt.Errorf("bagit: %q is not a free tag file name", name)
	}
	sum, _, err := b.write(name, strings.NewReader(string(content)))
	if err != nil {
		return err
	}
	b.tags[name] = sum
	return nil
}

// Finish writes bagit.txt, bag-info.txt (info in order, plus
// Payload-Oxum), the payload manifest and the tag manifest.
func (b *Bag) Finish(info [][2]string) error {
	if err := b.tag("bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"); err != nil {
		return err
	}
	var bi strings.Builder
	for _, kv := range info {
		if strings.ContainsAny(kv[0], ":\r\n") || strings.ContainsAny(kv[1], "\r\n") {
			return fmt.Errorf("bagit: bad bag-info field %q", kv[0])
		}
		fmt.Fprintf(&bi, "%s: %s\n", kv[0], kv[1])
	}
	fmt.Fprintf(&bi, "Payload-Oxum: %d.%d\n", b.oxBytes, b.oxCount)
	if err := b.tag("bag-info.txt", bi.String()); err != nil {
		return err
	}
	if err := b.tag("manifest-sha256.txt", manifestText(b.manifest)); err != nil {
		return err
	}
	return writeFile(filepath.Join(b.dir, "tagmanifest-sha256.txt"), manifestText(b.tags))
}

func (b *Bag) tag(name, content string) error {
	sum, _, err := b.write(name, strings.NewReader(content))
	if err != nil {
		return err
	}
	b.tags[name] = sum
	return nil
}

func manifestText(m map[string]string) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	var sb strings.Builder
	for _, n := range names {
		sb.WriteString(m[n] + "  " + n + "\n")
	}
	return sb.String()
}

func writeFile(p, content string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("bagit: %w", err)
	}
	_, err = f.WriteString(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("bagit: %w", err)
	}
	return nil
}

// Report is what Verify checked.
type Report struct {
	PayloadFiles int
	PayloadBytes int64
	TagFiles     int
}

// Verify re-reads a bag: bagit.txt, every payload file against
// manifest-sha256.txt (and no payload file outside it), Payload-Oxum, and
// every tag file against tagmanifest-sha256.txt. Every problem is listed
// in the error, which wraps ErrInvalid.
func Verify(dir string) (*Report, error) {
	var probs []string
	bad := func(f string, a ...any) { probs = append(probs, fmt.Sprintf(f, a...)) }
	decl, err := os.ReadFile(filepath.Join(dir, "bagit.txt"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if !strings.Contains(string(decl), "BagIt-Version: 1.0") || !strings.Contains(string(decl), "Tag-File-Character-Encoding: UTF-8") {
		bad("bagit.txt is not a BagIt 1.0, UTF-8 declaration")
	}
	rep := &Report{}
	manifest, err := readManifest(dir, "manifest-sha256.txt")
	if err != nil {
		return nil, err
	}
	for name, want := range manifest {
		if !strings.HasPrefix(name, "data/") {
			bad("manifest-sha256.txt lists %q outside data/", name)
			continue
		}
		got, n, err := hashFile(filepath.Join(dir, filepath.FromSlash(name)))
		switch {
		case err != nil:
			bad("%s: %v", name, err)
		case got != want:
			bad("%s: sha256 %s, manifest says %s", name, got, want)
		}
		rep.PayloadFiles++
		rep.PayloadBytes += n
	}
	err = filepath.WalkDir(filepath.Join(dir, "data"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if _, ok := manifest[filepath.ToSlash(rel)]; !ok {
			bad("%s is in data/ but not in the manifest", filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		bad("data/: %v", err)
	}
	info, _ := os.ReadFile(filepath.Join(dir, "bag-info.txt"))
	for _, line := range strings.Split(string(info), "\n") {
		if v, ok := strings.CutPrefix(line, "Payload-Oxum: "); ok {
			want := strconv.FormatInt(rep.PayloadBytes, 10) + "." + strconv.Itoa(rep.PayloadFiles)
			if strings.TrimSpace(v) != want {
				bad("Payload-Oxum is %s, the payload is %s", strings.TrimSpace(v), want)
			}
		}
	}
	tags, err := readManifest(dir, "tagmanifest-sha256.txt")
	if err != nil {
		return nil, err
	}
	for _, must := range []string{"bagit.txt", "bag-info.txt", "manifest-sha256.txt"} {
		if _, ok := tags[must]; !ok {
			bad("tagmanifest-sha256.txt does not list %s", must)
		}
	}
	for name, want := range tags {
		if strings.HasPrefix(name, "data/") {
			bad("tagmanifest-sha256.txt lists payload file %q", name)
			continue
		}
		got, _, err := hashFile(filepath.Join(dir, filepath.FromSlash(name)))
		switch {
		case err != nil:
			bad("%s: %v", name, err)
		case got != want:
			bad("%s: sha256 %s, tag manifest says %s", name, got, want)
		}
		rep.TagFiles++
	}
	if len(probs) > 0 {
		sort.Strings(probs)
		return rep, fmt.Errorf("%w: %s", ErrInvalid, strings.Join(probs, "; "))
	}
	return rep, nil
}

func readManifest(dir, name string) (map[string]string, error) {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			continue
		}
		sum, p, ok := strings.Cut(line, " ")
		p = strings.TrimLeft(p, " \t")
		if !ok || len(sum) != 64 || p == "" {
			return nil, fmt.Errorf("%w: %s:%d: want \"SHA256 PATH\"", ErrInvalid, name, n)
		}
		// Percent-encoded CR, LF and % per RFC 8493 §2.1.3.
		p = strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace(p)
		if clean := path.Clean(p); clean != p || strings.HasPrefix(p, "/") || p == ".." || strings.HasPrefix(p, "../") {
			return nil, fmt.Errorf("%w: %s:%d: path %q leaves the bag", ErrInvalid, name, n, p)
		}
		out[p] = strings.ToLower(sum)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("bagit: %s: %w", name, err)
	}
	return out, nil
}

func hashFile(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
