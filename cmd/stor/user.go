package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	osuser "os/user"
	"strings"
	"text/tabwriter"
	"time"

	"stor/internal/auth"
	"stor/internal/catalog"
	"stor/internal/logging"
	"stor/internal/node"
)

type userCmd struct {
	stdin io.Reader // nil: os.Stdin
}

const userUsage = `usage:
  stor user create --username NAME [--role admin|editor|viewer] [--project P]   (password on stdin)
  stor user list
  stor user disable --username NAME
  stor user enable --username NAME
  stor user passwd --username NAME   (new password on stdin)
  stor user role --username NAME --role admin|editor|viewer
  stor user unlock --username NAME   (lift a sign-in lockout; any username, known or not)
each takes the server's flags (--data-dir, --config ...) too`

// Run manages users directly in the catalog (for the first admin, or when
// no admin can sign in). Passwords are read from the first line of stdin,
// never from a flag (flags show in ps and shell history).
func (c userCmd) Run(ctx context.Context, args []string) error {
	stdin := c.stdin
	if stdin == nil {
		stdin = os.Stdin
	}
	if len(args) == 0 {
		return errors.New(userUsage)
	}
	sub := args[0]
	var username, role, project string
	cfg, _, err := loadConfig("user "+sub, args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&username, "username", "", "the user's name")
		fs.StringVar(&role, "role", "", "admin, editor or viewer")
		fs.StringVar(&project, "project", "", "limit the user to one project")
	})
	if err != nil {
		return err
	}
	switch sub {
	case "create", "disable", "enable", "passwd", "role", "unlock":
		if username == "" {
			return fmt.Errorf("user %s: --username is required", sub)
		}
	case "list":
	default:
		return errors.New(userUsage)
	}
	n, err := node.Open(ctx, cfg, logging.New(os.Stderr, cfg.LogFormat, "warn"))
	if err != nil {
		return err
	}
	defer n.Close()
	db := n.DB.Writer()
	actor := "cli:unknown"
	if me, err := osuser.Current(); err == nil {
		actor = "cli:" + me.Username
	}
	record := func(action, target string) {
		detail, _ := json.Marshal(map[string]string{"command": "stor user " + sub})
		if err := catalog.AddAudit(ctx, db, catalog.AuditEntry{Actor: actor, Action: action, Target: target, Detail: string(detail)}); err != nil {
			fmt.Fprintln(os.Stderr, "stor: audit log:", err)
		}
	}
	switch sub {
	case "list":
		us, err := catalog.ListUsers(ctx, n.DB.Reader())
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USERNAME\tROLE\tPROJECT\tSTATE\tID")
		for _, u := range us {
			state := "active"
			if u.DisabledAt != nil {
				state = "disabled " + u.DisabledAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Username, u.Role, or(u.Project, "*"), state, u.ID)
		}
		return tw.Flush()
	case "create":
		if role == "" {
			role = auth.RoleViewer
		}
		pw, err := readPassword(stdin)
		if err != nil {
			return err
		}
		u, err := auth.CreateUser(ctx, db, username, pw, role, project)
		if err != nil {
			return err
		}
		record("POST /api/v1/users", u.ID)
		fmt.Fprintf(os.Stderr, "created user %s (%s) with role %s\n", u.Username, u.ID, u.Role)
		return nil
	}
	if sub == "unlock" {
		found, err := auth.Unlock(ctx, db, username)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("user unlock: %q has no sign-in lock nor failed sign-ins", username)
		}
		record("signin.unlock", username)
		fmt.Fprintf(os.Stderr, "user %s: sign-in unlocked\n", username)
		return nil
	}
	u, err := catalog.UserByName(ctx, db, username)
	if err != nil {
		return fmt.Errorf("user %q: %w", username, err)
	}
	switch sub {
	case "disable":
		now := time.Now()
		u.DisabledAt = &now
	case "enable":
		u.DisabledAt = nil
	case "passwd":
		pw, err := readPassword(stdin)
		if err != nil {
			return err
		}
		u.PasswordHash = auth.HashPassword(pw, auth.DefaultArgon2)
	case "role":
		if _, ok := auth.RoleScopes(role); !ok {
			return fmt.Errorf("user role: --role is admin, editor or viewer")
		}
		u.Role = role
	}
	if err := catalog.UpdateUser(ctx, db, u); err != nil {
		return err
	}
	if sub == "disable" || sub == "passwd" {
		if err := catalog.RevokeUserSessions(ctx, db, u.ID); err != nil {
			return err
		}
	}
	record("PATCH /api/v1/users/{id}", u.ID)
	fmt.Fprintf(os.Stderr, "user %s: %s done\n", u.Username, sub)
	return nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// readPassword reads the first line of r and checks the policy.
func readPassword(r io.Reader) (string, error) {
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(os.Stderr, "password (echoed; pipe it in to hide it): ")
		}
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if err := auth.CheckPassword(pw); err != nil {
		return "", err
	}
	return pw, nil
}
