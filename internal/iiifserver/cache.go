package iiifserver

import (
	"container/list"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// DiskCache is a bounded directory of files addressed by name, evicting the
// least recently used first once the total size is over the limit. It
// serves two purposes: rendered IIIF responses, and local copies of image
// sources when the store has no local files.
//
// A file being read is pinned (Get and Put return a release function) and
// is never evicted while pinned, so a path handed out stays valid until
// released. The index lives in memory and is rebuilt from the directory at
// open, oldest modification time first (Get touches the file), so the LRU
// order survives restarts approximately.
type DiskCache struct {
	dir string
	max int64

	mu    sync.Mutex
	size  int64
	ll    *list.List // front: most recently used
	items map[string]*list.Element
}

type cacheEntry struct {
	name string
	size int64
	pins int
}

// OpenDiskCache opens (creating) dir with a size limit of max bytes.
func OpenDiskCache(dir string, max int64) (*DiskCache, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("iiif cache: %w", err)
	}
	c := &DiskCache{dir: dir, max: max, ll: list.New(), items: map[string]*list.Element{}}
	type found struct {
		name string
		size int64
		mod  time.Time
	}
	var all []found
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasPrefix(d.Name(), ".tmp-") { // a write a crash cut off
			os.Remove(p)
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		all = append(all, found{d.Name(), fi.Size(), fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("iiif cache: scan %s: %w", dir, err)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].mod.Before(all[j].mod) })
	for _, f := range all {
		c.items[f.name] = c.ll.PushFront(&cacheEntry{name: f.name, size: f.size})
		c.size += f.size
	}
	c.mu.Lock()
	c.evictLocked()
	c.mu.Unlock()
	return c, nil
}

// Size returns the bytes currently held.
func (c *DiskCache) Size() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}

// path is where name lives: names are spread over 256 subdirectories by
// their first two characters.
func (c *DiskCache) path(name string) string {
	sub := "_"
	if len(name) >= 2 {
		sub = name[:2]
	}
	return filepath.Join(c.dir, sub, name)
}

func (c *DiskCache) releaser(e *cacheEntry) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			e.pins--
			c.evictLocked()
			c.mu.Unlock()
		})
	}
}

// Get returns the path of name, pinned until release is called.
func (c *DiskCache) Get(name string) (path string, release func(), ok bool) {
	c.mu.Lock()
	el, ok := c.items[name]
	if !ok {
		c.mu.Unlock()
		return "", nil, false
	}
	c.ll.MoveToFront(el)
	e := el.Value.(*cacheEntry)
	e.pins++
	c.mu.Unlock()
	p := c.path(name)
	now := time.Now()
	os.Chtimes(p, now, now) // best effort: keeps the LRU order across restarts
	return p, c.releaser(e), true
}

// Put stores what write writes under name (via a temporary file renamed
// into place) and returns its path, pinned until release is called. A file
// larger than the whole cache is written and returned but evicted at
// release.
func (c *DiskCache) Put(name string, write func(w io.Writer) error) (path string, release func(), err error) {
	if strings.ContainsAny(name, `/\`) || name == "" || strings.HasPrefix(name, ".") {
		return "", nil, fmt.Errorf("iiif cache: bad name %q", name)
	}
	p := c.path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return "", nil, fmt.Errorf("iiif cache: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return "", nil, fmt.Errorf("iiif cache: %w", err)
	}
	tmp := f.Name()
	if err := write(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return "", nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = f.Close()
	} else {
		f.Close()
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return "", nil, fmt.Errorf("iiif cache: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[name]; ok { // written twice (two renders raced): same bytes
		e := el.Value.(*cacheEntry)
		c.size += fi.Size() - e.size
		e.size = fi.Size()
		e.pins++
		c.ll.MoveToFront(el)
		c.evictLocked()
		return p, c.releaser(e), nil
	}
	e := &cacheEntry{name: name, size: fi.Size(), pins: 1}
	c.items[name] = c.ll.PushFront(e)
	c.size += e.size
	c.evictLocked()
	return p, c.releaser(e), nil
}

// evictLocked removes unpinned entries, oldest first, until the cache fits.
func (c *DiskCache) evictLocked() {
	for el := c.ll.Back(); el != nil && c.size > c.max; {
		prev := el.Prev()
		e := el.Value.(*cacheEntry)
		if e.pins == 0 {
			c.ll.Remove(el)
			delete(c.items, e.name)
			c.size -= e.size
			os.Remove(c.path(e.name))
		}
		el = prev
	}
}
