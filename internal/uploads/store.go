package uploads

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/tus/tusd/v2/pkg/filestore"
	"github.com/tus/tusd/v2/pkg/handler"

	"stor/internal/ingest"
)

// checkpointEvery is how many bytes of an upload are written between two
// checkpoints (data fsynced, then the hash state saved), counted over the
// whole upload, not per PATCH: a PATCH that ends does not fsync. Between
// PATCHes the running hashes stay in memory (Store.live); after a crash
// or restart the bytes after the last checkpoint (at most this much plus
// one PATCH) are hashed again from the file.
const checkpointEvery = 256 << 20

// maxLive bounds the running hashes kept in memory between PATCHes (an
// entry is a few hundred bytes; an upload without one reloads its state).
const maxLive = 4096

// bufSize is the unit of copying parts into a concatenated upload.
const bufSize = 1 << 20

// state is what is kept beside an upload in ID.state: who made it and the
// running SHA-256 and MD5 of bytes [0, Offset). The hash states are the
// digests' MarshalBinary output; Offset never runs ahead of the bytes that
// were fsynced to the data file.
type state struct {
	TokenID string `json:"token_id"`
	Actor   string `json:"actor"`
	Project string `json:"project"`
	// Partial uploads (concatenation parts) are not hashed: the final
	// upload is hashed as the parts are copied into it.
	Partial bool `json:"partial,omitempty"`
	// NoMD5: this upload's MD5 is left to the pipeline (STOR_INGEST_MD5
	// deferred and no md5 in its metadata to verify).
	NoMD5  bool   `json:"no_md5,omitempty"`
	Offset int64  `json:"offset"`
	SHA256 []byte `json:"sha256_state"`
	MD5    []byte `json:"md5_state"`
}

// Store is a tusd data store: tusd's filestore for creating, describing,
// terminating and length-deferring uploads, with the writing done here so
// that SHA-256 and MD5 are computed as bytes arrive and their state is
// persisted with the data. Concatenation is done here too, hashing the
// parts as they are copied.
type Store struct {
	Dir string
	fs  filestore.FileStore
	// every is checkpointEvery (smaller in tests).
	every int64
	// DeferMD5 hashes only SHA-256 as bytes arrive, unless the upload's
	// metadata carries an md5 to verify (ingest.Ingester.DeferMD5).
	DeferMD5 bool

	mu   sync.Mutex
	live map[string]*running
}

// running is an upload's hashes between two PATCHes: they cover exactly
// [0, offset) of the data file, and [0, durable) is in the saved state.
type running struct {
	sh, mh          hash.Hash
	offset, durable int64
	st              *state
}

// take removes and returns the running hashes of id if they still cover
// the whole data file of size size (another process may have written it
// since, or the entry is stale).
func (s *Store) take(id string, size int64) *running {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.live[id]
	delete(s.live, id)
	if r == nil || r.offset != size {
		return nil
	}
	return r
}

// keep stores the running hashes of id until its next PATCH.
func (s *Store) keep(id string, r *running) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live == nil {
		s.live = map[string]*running{}
	}
	if len(s.live) >= maxLive {
		for k := range s.live { // drop any one: it reloads from its state
			delete(s.live, k)
			break
		}
	}
	s.live[id] = r
}

func (s *Store) forget(id string) {
	s.mu.Lock()
	delete(s.live, id)
	s.mu.Unlock()
}

// NewStore makes the directory and the store.
func NewStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("uploads: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("uploads: %w", err)
	}
	return &Store{Dir: abs, fs: filestore.New(abs), every: checkpointEvery}, nil
}

// UseIn registers the store and its extensions (no content serving:
// uploads are not downloadable through tus).
func (s *Store) UseIn(c *handler.StoreComposer) {
	c.UseCore(s)
	c.UseTerminater(s)
	c.UseConcater(s)
	c.UseLengthDeferrer(s)
}

func (s *Store) statePath(id string) string { return filepath.Join(s.Dir, id+".state") }
func (s *Store) binPath(id string) string   { return filepath.Join(s.Dir, id) }

// NewUpload creates the data and info files (filestore) and the first state.
func (s *Store) NewUpload(ctx context.Context, info handler.FileInfo) (handler.Upload, error) {
	inner, err := s.fs.NewUpload(ctx, info)
	if err != nil {
		return nil, err
	}
	info, err = inner.GetInfo(ctx)
	if err != nil {
		return nil, err
	}
	st := &state{Partial: info.IsPartial, Project: info.MetaData["project"],
		NoMD5: s.DeferMD5 && info.MetaData["md5"] == ""}
	if p := principalFrom(ctx); p != nil {
		st.TokenID, st.Actor = p.TokenID, p.Actor()
	}
	sh, mh := st.newHashes()
	if err := st.save(s.statePath(info.ID), sh, mh, 0); err != nil {
		return nil, err
	}
	return &upload{Upload: inner, s: s, id: info.ID, st: st}, nil
}

// GetUpload opens an upload; its offset is the data file's size.
func (s *Store) GetUpload(ctx context.Context, id string) (handler.Upload, error) {
	inner, err := s.fs.GetUpload(ctx, id)
	if err != nil {
		return nil, err
	}
	return &upload{Upload: inner, s: s, id: id}, nil
}

func (s *Store) AsTerminatableUpload(u handler.Upload) handler.TerminatableUpload {
	return u.(*upload)
}

func (s *Store) AsLengthDeclarableUpload(u handler.Upload) handler.LengthDeclarableUpload {
	return u.(*upload)
}

func (s *Store) AsConcatableUpload(u handler.Upload) handler.ConcatableUpload { return u.(*upload) }

// readState loads the state of an upload.
func (s *Store) readState(id string) (*state, error) {
	b, err := os.ReadFile(s.statePath(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil, handler.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("uploads: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("uploads: state of %s: %w", id, err)
	}
	return &st, nil
}

// save writes the state with the hashes at offset, fsynced, atomically.
func (st *state) save(path string, sh, mh hash.Hash, offset int64) error {
	var err error
	if st.SHA256, err = sh.(encoding.BinaryMarshaler).MarshalBinary(); err != nil {
		return fmt.Errorf("uploads: %w", err)
	}
	st.MD5 = nil
	if mh != nil {
		if st.MD5, err = mh.(encoding.BinaryMarshaler).MarshalBinary(); err != nil {
			return fmt.Errorf("uploads: %w", err)
		}
	}
	st.Offset = offset
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("uploads: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("uploads: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("uploads: save state: %w", err)
	}
	return nil
}

// newHashes returns new digests: SHA-256, and MD5 unless NoMD5 (nil).
func (st *state) newHashes() (sh, mh hash.Hash) {
	if st.NoMD5 {
		return sha256.New(), nil
	}
	return sha256.New(), md5.New()
}

// sinks are the digests as Copier sinks.
func sinks(sh, mh hash.Hash) []io.Writer {
	if mh == nil {
		return []io.Writer{sh}
	}
	return []io.Writer{sh, mh}
}

// hashers restores the digests of a state.
func (st *state) hashers() (hash.Hash, hash.Hash, error) {
	sh, mh := st.newHashes()
	if len(st.SHA256) > 0 {
		if err := sh.(encoding.BinaryUnmarshaler).UnmarshalBinary(st.SHA256); err != nil {
			return nil, nil, fmt.Errorf("uploads: sha256 state: %w", err)
		}
	}
	if len(st.MD5) > 0 && mh != nil {
		if err := mh.(encoding.BinaryUnmarshaler).UnmarshalBinary(st.MD5); err != nil {
			return nil, nil, fmt.Errorf("uploads: md5 state: %w", err)
		}
	}
	return sh, mh, nil
}

// upload is one tus upload: filestore's, with writing and hashing here.
type upload struct {
	handler.Upload // filestore's: GetInfo, GetReader, FinishUpload
	s              *Store
	id             string
	st             *state
	sh, mh         hash.Hash
	// offset is how many bytes of the data file the hashes cover (all of
	// them, once loaded); durable is the offset of the saved state.
	offset, durable int64
}

// load reads the state and makes the hashes cover exactly the data file:
// after a crash the file may hold bytes written after the last checkpoint
// (they are hashed from the file now: at most checkpointEvery plus one
// buffer), and should it ever be shorter than the saved offset (the file
// was cut by something else) the hash is redone from the start.
func (u *upload) load() error {
	if u.sh != nil {
		return nil
	}
	fi, err := os.Stat(u.s.binPath(u.id))
	if errors.Is(err, os.ErrNotExist) {
		return handler.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("uploads: %w", err)
	}
	if r := u.s.take(u.id, fi.Size()); r != nil {
		u.st, u.sh, u.mh, u.offset, u.durable = r.st, r.sh, r.mh, r.offset, r.durable
		return nil
	}
	st, err := u.s.readState(u.id)
	if err != nil {
		return err
	}
	u.st = st
	if st.Partial {
		u.sh, u.mh = st.newHashes()
		return nil
	}
	from := st.Offset
	if from > fi.Size() {
		from = 0
	}
	sh, mh := st.newHashes()
	if from > 0 {
		if sh, mh, err = st.hashers(); err != nil {
			sh, mh = st.newHashes()
			from = 0
		}
	}
	u.sh, u.mh, u.offset, u.durable = sh, mh, from, from
	if from == fi.Size() {
		return nil
	}
	f, err := os.Open(u.s.binPath(u.id))
	if err != nil {
		return fmt.Errorf("uploads: %w", err)
	}
	defer f.Close()
	n, err := io.Copy(io.MultiWriter(sinks(sh, mh)...), io.NewSectionReader(f, from, fi.Size()-from))
	if err != nil {
		return fmt.Errorf("uploads: rehash %s: %w", u.id, err)
	}
	// The state may only claim bytes that are durable.
	if err := f.Sync(); err != nil {
		return fmt.Errorf("uploads: %w", err)
	}
	u.offset, u.durable = from+n, from+n
	return st.save(u.s.statePath(u.id), sh, mh, from+n)
}

// WriteChunk appends src to the data file while hashing it (ingest.Copier:
// the write, SHA-256 and MD5 run side by side). Every checkpointEvery
// bytes of the upload the file is fsynced and then the state saved; at the
// end of the PATCH the hashes are kept in memory for the next one (tusd
// holds the upload's lock meanwhile, so PATCHes of one upload never
// overlap). A PATCH answered without fsync is safe for tus: after a crash
// the client asks for the offset again (HEAD), which is the file's size,
// and the hashes are redone from the last checkpoint. The fsync that makes
// the whole upload durable is in finished, before the commit.
func (u *upload) WriteChunk(ctx context.Context, offset int64, src io.Reader) (int64, error) {
	if err := u.load(); err != nil {
		return 0, err
	}
	f, err := os.OpenFile(u.s.binPath(u.id), os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return 0, fmt.Errorf("uploads: %w", err)
	}
	hashing := !u.st.Partial
	checkpoint := func(written int64) error {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("uploads: %w", err)
		}
		if !hashing {
			return nil
		}
		if err := u.st.save(u.s.statePath(u.id), u.sh, u.mh, offset+written); err != nil {
			return err
		}
		u.durable = offset + written
		return nil
	}
	cp := ingest.Copier{File: f, Every: u.s.every, Checkpoint: checkpoint, Direct: true, Offset: offset}
	if hashing {
		cp.Sinks = sinks(u.sh, u.mh)
		cp.Since = offset - u.durable
	}
	written, werr := cp.Copy(eofReader{src})
	if cerr := f.Close(); werr == nil && cerr != nil {
		werr = fmt.Errorf("uploads: %w", cerr)
	}
	switch {
	case errors.Is(werr, ingest.ErrWrite):
		// The hashes took more than the file holds: keep nothing; load
		// rehashes from the file.
		u.sh = nil
		werr = fmt.Errorf("uploads: %w", werr)
	case hashing:
		// A body cut short ends like one that ended (eofReader); any
		// other error left the hashes covering exactly what was written.
		u.s.keep(u.id, &running{sh: u.sh, mh: u.mh, offset: offset + written, durable: u.durable, st: u.st})
	}
	return written, werr
}

// eofReader ends a PATCH body that was cut short (io.ErrUnexpectedEOF)
// like one that ended: what arrived is kept, and the client resumes from
// the offset it asks for next.
type eofReader struct{ r io.Reader }

func (e eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	return n, err
}

// Terminate removes the data, info and state files.
func (u *upload) Terminate(ctx context.Context) error {
	return u.s.remove(u.id)
}

func (s *Store) remove(id string) error {
	s.forget(id)
	var errs []error
	for _, p := range []string{s.binPath(id), filepath.Join(s.Dir, id+".info"), s.statePath(id),
		s.statePath(id) + ".tmp", filepath.Join(s.Dir, id+".stop")} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	// The lock file goes last: a request waiting for it then finds no upload.
	if err := os.Remove(filepath.Join(s.Dir, id+".lock")); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// DeclareLength is filestore's.
func (u *upload) DeclareLength(ctx context.Context, length int64) error {
	return u.s.fs.AsLengthDeclarableUpload(u.Upload).DeclareLength(ctx, length)
}

// ConcatUploads copies the parts into the final upload, hashing them as
// they pass: this is the one read of the parts' bytes a concatenation
// costs (the final upload is not read again to hash it).
func (u *upload) ConcatUploads(ctx context.Context, parts []handler.Upload) error {
	st, err := u.s.readState(u.id)
	if err != nil {
		return err
	}
	u.st = st
	f, err := os.OpenFile(u.s.binPath(u.id), os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("uploads: %w", err)
	}
	defer f.Close()
	sh, mh := st.newHashes()
	w := io.MultiWriter(append([]io.Writer{f}, sinks(sh, mh)...)...)
	var total int64
	buf := make([]byte, bufSize)
	for _, p := range parts {
		part, ok := p.(*upload)
		if !ok {
			return fmt.Errorf("uploads: concatenate: foreign upload")
		}
		src, err := os.Open(u.s.binPath(part.id))
		if err != nil {
			return fmt.Errorf("uploads: concatenate: %w", err)
		}
		n, err := io.CopyBuffer(w, src, buf)
		src.Close()
		if err != nil {
			return fmt.Errorf("uploads: concatenate: %w", err)
		}
		total += n
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("uploads: %w", err)
	}
	u.sh, u.mh, u.offset, u.durable = sh, mh, total, total
	return st.save(u.s.statePath(u.id), sh, mh, total)
}

// finished is a complete upload's data file with its checksums, ready for
// Ingester.Commit (which moves the file into the store by rename).
func (s *Store) finished(id string) (*ingest.Spooled, *state, error) {
	u := &upload{s: s, id: id}
	if err := u.load(); err != nil {
		return nil, nil, err
	}
	if u.st.Partial {
		return nil, nil, fmt.Errorf("uploads: %s is a partial upload", id)
	}
	f, err := os.Open(s.binPath(id))
	if err != nil {
		return nil, nil, fmt.Errorf("uploads: %w", err)
	}
	defer f.Close()
	// PATCHes do not fsync (WriteChunk): the whole file is made durable
	// here, before it becomes an asset.
	if err := f.Sync(); err != nil {
		return nil, nil, fmt.Errorf("uploads: %w", err)
	}
	head := make([]byte, ingest.HeadSize)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, nil, fmt.Errorf("uploads: %w", err)
	}
	sp := &ingest.Spooled{Path: s.binPath(id), Size: u.offset, Head: head[:n], SHA256: hex.EncodeToString(u.sh.Sum(nil))}
	if u.mh != nil {
		sp.MD5 = hex.EncodeToString(u.mh.Sum(nil))
	}
	return sp, u.st, nil
}
