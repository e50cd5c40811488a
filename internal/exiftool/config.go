package exiftool

import (
	"fmt"
	"time"
)

// Config configures a Pool. The zero value of every field means "use the
// default" documented beside it; DefaultConfig returns those defaults.
type Config struct {
	// Size is the number of long-lived exiftool processes. Default 2.
	Size int
	// Timeout bounds one call (one file): from taking a process out of the
	// pool to reading its answer. A call that takes longer fails with
	// ErrTimeout and its process (whole process group) is killed and
	// replaced. Default 30s.
	Timeout time.Duration
	// Binary is the exiftool executable, a path or a name looked up in
	// PATH. Default "exiftool".
	Binary string
	// MaxOutput bounds the bytes one call may print (JSON for a file with
	// a 10 MB XMP packet is about 10 MB). Beyond it the call fails with
	// ErrOutputTooLarge and the process is replaced. Default 128 MiB.
	MaxOutput int
	// TempDir is where WriteXMPSidecar and EmbedFields keep their short-lived
	// scratch files. Default os.TempDir().
	TempDir string
}

// Defaults, also documented on the Config fields.
const (
	DefaultSize      = 2
	DefaultTimeout   = 30 * time.Second
	DefaultBinary    = "exiftool"
	DefaultMaxOutput = 128 << 20
)

// DefaultConfig returns a Config with every default filled in.
func DefaultConfig() Config {
	return Config{
		Size:      DefaultSize,
		Timeout:   DefaultTimeout,
		Binary:    DefaultBinary,
		MaxOutput: DefaultMaxOutput,
	}
}

// withDefaults returns c with zero fields replaced by their defaults.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Size == 0 {
		c.Size = d.Size
	}
	if c.Timeout == 0 {
		c.Timeout = d.Timeout
	}
	if c.Binary == "" {
		c.Binary = d.Binary
	}
	if c.MaxOutput == 0 {
		c.MaxOutput = d.MaxOutput
	}
	return c
}

// Validate reports the first invalid field, by name.
func (c Config) Validate() error {
	if c.Size < 0 || c.Size > 64 {
		return fmt.Errorf("exiftool: config Size: %d not in 1..64", c.Size)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("exiftool: config Timeout: negative (%s)", c.Timeout)
	}
	if c.MaxOutput < 0 {
		return fmt.Errorf("exiftool: config MaxOutput: negative (%d)", c.MaxOutput)
	}
	return nil
}
