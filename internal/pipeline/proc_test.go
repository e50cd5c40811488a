package pipeline_test

import (
	"context"
	"os/exec"

	"stor/internal/proc"
)

func procCommand(ctx context.Context, name string, args ...string) *exec.Cmd {
	return proc.Command(ctx, name, args...)
}
