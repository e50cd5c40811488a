package node

import (
	"path/filepath"

	"stor/internal/iiifserver"
)

// openIIIF builds the IIIF image server on the node's libvips engine; its
// routes join the API.
func (n *Node) openIIIF() error {
	var err error
	n.IIIF, err = iiifserver.New(iiifserver.Config{
		DB: n.DB, Store: n.Store, Engine: n.Tools.Vips, Log: n.Log, BaseURL: n.Cfg.BaseURL(),
		CacheDir: filepath.Join(n.Cfg.DataDir, "cache", "iiif"), CacheSize: int64(n.Cfg.IIIFCacheSize),
		SourceDir: filepath.Join(n.Cfg.DataDir, "cache", "iiif-sources"), SourceCacheSize: int64(n.Cfg.IIIFSourceCacheSize),
		TileCacheSize: int64(n.Cfg.IIIFTileCacheSize),
		Registerer:    n.Reg,
	})
	if err != nil {
		return err
	}
	n.API.Extra = append(n.API.Extra, n.IIIF.Routes()...)
	return nil
}
