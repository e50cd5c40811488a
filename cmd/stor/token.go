package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"stor/internal/auth"
	"stor/internal/logging"
	"stor/internal/node"
)

type tokenCmd struct{}

func (tokenCmd) Run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("usage: stor token create --name NAME [--scopes read,write,admin] [--project P] [--expires-in 720h] [--data-dir DIR]")
	}
	var name, scopes, project string
	var expiresIn time.Duration
	cfg, _, err := loadConfig("token create", args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "what the token is for (required)")
		fs.StringVar(&scopes, "scopes", "read", "comma-separated scopes: read, write, admin")
		fs.StringVar(&project, "project", "", "limit the token to one project")
		fs.DurationVar(&expiresIn, "expires-in", 0, "expiry, e.g. 720h (default: never)")
	})
	if err != nil {
		return err
	}
	if name == "" {
		return fmt.Errorf("token create: --name is required")
	}
	var expires *time.Time
	if expiresIn > 0 {
		t := time.Now().Add(expiresIn)
		expires = &t
	}
	n, err := node.Open(ctx, cfg, logging.New(os.Stderr, cfg.LogFormat, "warn"))
	if err != nil {
		return err
	}
	defer n.Close()
	secret, t, err := auth.CreateToken(ctx, n.DB.Writer(), name, strings.Split(scopes, ","), project, expires, "")
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "created token %s (%s) with scopes %s\n", t.ID, t.Name, strings.Join(t.Scopes, ","))
	fmt.Println(secret)
	return nil
}
