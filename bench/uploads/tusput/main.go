// Command tusput uploads one file to a tus endpoint and prints the time:
// tusput ENDPOINT TOKEN FILE CHUNK_BYTES (TOKEN may be "-").
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"stor/internal/tusclient"
)

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: tusput ENDPOINT TOKEN FILE CHUNK_BYTES")
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
	d := time.Since(start)
	fmt.Printf("%.2f s  %.0f MB/s\n", d.Seconds(), float64(fi.Size())/d.Seconds()/1e6)
}
