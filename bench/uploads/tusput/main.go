// Command tusput uploads one file to a tus endpoint and prints the time:
// tusput ENDPOINT TOKEN FILE CHUNK_BYTES [FSYNC_DIR] (TOKEN may be "-").
// With FSYNC_DIR every file in it is fsynced before the clock stops: the
// time until a server that does not sync (tusd) holds the upload durably,
// like stor and dd conv=fdatasync do.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"stor/internal/tusclient"
)

func main() {
	if len(os.Args) != 5 && len(os.Args) != 6 {
		fmt.Fprintln(os.Stderr, "usage: tusput ENDPOINT TOKEN FILE CHUNK_BYTES [FSYNC_DIR]")
		os.Exit(2)
	}
	endpoint, token, path := os.Args[1], os.Args[2], os.Args[3]
	chunk, _ := strconv.ParseInt(os.Args[4], 10, 64)
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fi, _ := f.Stat()
	c := &tusclient.Client{Endpoint: endpoint, Header: http.Header{}}
	if token != "-" {
		c.Header.Set("Authorization", "Bearer "+token)
	}
	ctx := context.Background()
	start := time.Now()
	loc, err := c.Create(ctx, fi.Size(), map[string]string{"filename": "bench.bin", "ignore_unsupported": "1"}, "")
	if err == nil {
		_, err = c.Upload(ctx, loc, f, 0, fi.Size(), chunk, nil)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if len(os.Args) == 6 {
		if err := fsyncDir(os.Args[5]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	d := time.Since(start)
	fmt.Printf("%.2f s  %.0f MB/s\n", d.Seconds(), float64(fi.Size())/d.Seconds()/1e6)
}

func fsyncDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		f, err := os.OpenFile(filepath.Join(dir, e.Name()), os.O_RDWR, 0)
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
