package config_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stor/internal/config"
)

// load does what `stor serve` does: bind, parse flags, resolve env and file.
func load(t *testing.T, args []string, env map[string]string) (config.Config, error) {
	t.Helper()
	cfg := config.Default()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	cfg.Bind(fs)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	return cfg, cfg.Resolve(fs, func(k string) string { return env[k] })
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "stor.conf")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	cfg, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:8080" || cfg.DataDir != "./stor-data" || cfg.MaxUploadSize != 50<<30 ||
		cfg.ShutdownTimeout != 30*time.Second || cfg.LogFormat != "json" || cfg.LogLevel != "info" {
		t.Errorf("defaults = %+v", cfg)
	}
	if cfg.BaseURL() != "http://127.0.0.1:8080" {
		t.Errorf("BaseURL = %q", cfg.BaseURL())
	}
}

func TestPrecedence(t *testing.T) {
	file := writeFile(t, `# a stor config file
STOR_ADDR=127.0.0.1:1001
STOR_WORKERS=3
STOR_LOG_LEVEL=warn
STOR_MAX_UPLOAD_SIZE="2GiB"

STOR_SHUTDOWN_TIMEOUT=10m
`)
	env := map[string]string{"STOR_CONFIG": file, "STOR_ADDR": "127.0.0.1:2002", "STOR_WORKERS": "5"}
	cfg, err := load(t, []string{"--addr", "127.0.0.1:3003"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:3003" {
		t.Errorf("addr = %q: the flag must beat env and file", cfg.Addr)
	}
	if cfg.Workers != 5 {
		t.Errorf("workers = %d: env must beat the file", cfg.Workers)
	}
	if cfg.LogLevel != "warn" || cfg.MaxUploadSize != 2<<30 || cfg.ShutdownTimeout != 10*time.Minute {
		t.Errorf("file values not used: log-level %q max-upload-size %v shutdown-timeout %v", cfg.LogLevel, cfg.MaxUploadSize, cfg.ShutdownTimeout)
	}
	if cfg.LogFormat != "json" {
		t.Errorf("log-format = %q: the default must fill what nobody set", cfg.LogFormat)
	}
	// Without the flag, env wins; without env, the file.
	cfg, _ = load(t, nil, env)
	if cfg.Addr != "127.0.0.1:2002" {
		t.Errorf("addr = %q, want the env value", cfg.Addr)
	}
	cfg, _ = load(t, nil, map[string]string{"STOR_CONFIG": file})
	if cfg.Addr != "127.0.0.1:1001" {
		t.Errorf("addr = %q, want the file value", cfg.Addr)
	}
	// --config beats STOR_CONFIG.
	other := writeFile(t, "STOR_ADDR=127.0.0.1:4004\n")
	cfg, _ = load(t, []string{"--config", other}, map[string]string{"STOR_CONFIG": file})
	if cfg.Addr != "127.0.0.1:4004" {
		t.Errorf("addr = %q, want the --config file's", cfg.Addr)
	}
}

func TestBadValuesNameTheField(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
		want []string // every one must appear in the error
	}{
		{nil, map[string]string{"STOR_ADDR": "nonsense"}, []string{"addr", "STOR_ADDR", "nonsense"}},
		{[]string{"--addr", "nonsense"}, nil, []string{"addr"}},
		{nil, map[string]string{"STOR_SHUTDOWN_TIMEOUT": "10"}, []string{"STOR_SHUTDOWN_TIMEOUT"}},
		{nil, map[string]string{"STOR_MAX_UPLOAD_SIZE": "lots"}, []string{"STOR_MAX_UPLOAD_SIZE"}},
		{nil, map[string]string{"STOR_MAX_UPLOAD_SIZE": "0"}, []string{"max-upload-size"}},
		{nil, map[string]string{"STOR_WORKERS": "-1"}, []string{"workers"}},
		{nil, map[string]string{"STOR_WORKERS": "many"}, []string{"STOR_WORKERS"}},
		{nil, map[string]string{"STOR_LOG_LEVEL": "loud"}, []string{"log-level"}},
		{nil, map[string]string{"STOR_LOG_FORMAT": "xml"}, []string{"log-format"}},
		{nil, map[string]string{"STOR_PUBLIC_URL": "ftp://x"}, []string{"public-url"}},
		{nil, map[string]string{"STOR_BOOTSTRAP_TOKEN": "short"}, []string{"bootstrap-token"}},
		{nil, map[string]string{"STOR_DATA_DIR": " "}, []string{"data-dir"}},
		{nil, map[string]string{"STOR_CONFIG": "/nonexistent/stor.conf"}, []string{"/nonexistent/stor.conf"}},
		{nil, map[string]string{"STOR_CONFIG": writeFile(t, "STOR_ADDR=127.0.0.1:1\nthis is not a setting\n")}, []string{"stor.conf:2"}},
		{nil, map[string]string{"STOR_CONFIG": writeFile(t, "STOR_SHUTDOWN_TIMEOUT=soon\n")}, []string{"stor.conf", "STOR_SHUTDOWN_TIMEOUT"}},
	} {
		_, err := load(t, c.args, c.env)
		if err == nil {
			t.Errorf("%v %v: no error", c.args, c.env)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v %v: error %q does not name %q", c.args, c.env, err, w)
			}
		}
	}
	// Two bad fields: both named.
	_, err := load(t, nil, map[string]string{"STOR_ADDR": "x", "STOR_LOG_LEVEL": "loud"})
	if err == nil || !strings.Contains(err.Error(), "addr") || !strings.Contains(err.Error(), "log-level") {
		t.Errorf("two bad fields: %v", err)
	}
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]config.ByteSize{
		"1024": 1024, "50GiB": 50 << 30, "500MB": 500e6, "1.5KiB": 1536, "2g": 2 << 30, "10 MiB": 10 << 20,
	} {
		got, err := config.ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "lots", "-1GiB", "GiB"} {
		if _, err := config.ParseByteSize(in); err == nil {
			t.Errorf("ParseByteSize(%q) accepted", in)
		}
	}
	if s := config.ByteSize(50 << 30).String(); s != "50GiB" {
		t.Errorf("String = %q", s)
	}
}

// TestREADMEListsEveryField keeps the README's configuration table honest.
func TestREADMEListsEveryField(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	cfg.Bind(fs)
	fs.VisitAll(func(f *flag.Flag) {
		env := "STOR_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if !strings.Contains(string(readme), "`--"+f.Name+"`") || !strings.Contains(string(readme), "`"+env+"`") {
			t.Errorf("README.md's configuration table lacks `--%s` / `%s`", f.Name, env)
		}
	})
}
