// Command tileprep prepares a stor data dir for the tile benchmark: a
// bootstrap token, one image asset, and the given pyramidal TIFF recorded as
// that asset's "pyramid" derivative (as the pyramid task would). It prints
// the asset id.
//
//	go run ./bench/tileprep -data /tmp/stor-bench/stor -pyramid /tmp/stor-bench/data/tiles/big.tif -token SECRET
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"os"

	"stor/internal/auth"
	"stor/internal/catalog"
	"stor/internal/config"
	"stor/internal/ingest"
	"stor/internal/node"
	"stor/internal/pipeline"
)

func main() {
	data := flag.String("data", "/tmp/stor-bench/stor", "stor data dir")
	pyr := flag.String("pyramid", "/tmp/stor-bench/data/tiles/big.tif", "pyramidal TIFF")
	token := flag.String("token", "bench-token-0123456789abcdef", "bootstrap token secret")
	flag.Parse()
	if err := run(*data, *pyr, *token); err != nil {
		fmt.Fprintln(os.Stderr, "tileprep:", err)
		os.Exit(1)
	}
}

func run(data, pyr, token string) error {
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir, cfg.Workers = data, 0
	n, err := node.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer n.Close()
	if _, err := auth.Bootstrap(ctx, n.DB.Writer(), token); err != nil {
		return err
	}
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)))
	res, err := n.Ingest.Ingest(ctx, &b, ingest.Meta{Filename: "big.png", Actor: "bench"})
	if err != nil {
		return err
	}
	id := res.Asset.ID
	f, err := os.Open(pyr)
	if err != nil {
		return err
	}
	defer f.Close()
	key := pipeline.DerivativeKey(id, "pyramid")
	size, err := n.Store.Put(ctx, key, f)
	if err != nil {
		return err
	}
	if err := catalog.PutDerivative(ctx, n.DB.Writer(), &catalog.Derivative{AssetID: id, Name: "pyramid",
		BlobKey: key, ContentType: "image/tiff", Size: size, Task: "bench"}); err != nil {
		return err
	}
	fmt.Println(id)
	return nil
}
