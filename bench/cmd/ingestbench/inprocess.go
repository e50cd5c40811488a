package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/pprof"

	"stor/internal/auth"
	"stor/internal/config"
	"stor/internal/logging"
	"stor/internal/node"
)

// cpuProfile, when set, runs stor in this process and profiles the stor
// side of the big-file runs into this file.
var cpuProfile string

// startInProcess runs a stor node inside the benchmark, so that its CPU
// profile can be taken. The client's work (reading the file, writing the
// request) shows in the profile too; it is small next to the server's.
func startInProcess(dataDir string) (*stor, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cfg := config.Default()
	cfg.Addr, cfg.DataDir, cfg.BootstrapToken = ln.Addr().String(), dataDir, token
	ctx := context.Background()
	n, err := node.Open(ctx, cfg, logging.New(io.Discard, "json", "warn"))
	if err != nil {
		return nil, err
	}
	if _, err := auth.Bootstrap(ctx, n.DB.Writer(), token); err != nil {
		return nil, err
	}
	if err := n.Start(ctx); err != nil {
		return nil, err
	}
	go n.Serve(ln)
	return &stor{url: "http://" + cfg.Addr, stop: func() {
		n.Shutdown(ctx)
		n.Stop(ctx)
		n.Close()
	}}, nil
}

// startProfile starts a CPU profile of big run i into cpuProfile.N (N =
// i+1) and returns the func that ends it; without -cpuprofile it does
// nothing.
func startProfile(i int) func() {
	if cpuProfile == "" {
		return func() {}
	}
	f, err := os.Create(fmt.Sprintf("%s.%d", cpuProfile, i+1))
	if err != nil {
		fmt.Fprintln(os.Stderr, "cpuprofile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "cpuprofile:", err)
		f.Close()
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}
