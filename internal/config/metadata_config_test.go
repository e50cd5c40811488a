package config

import (
	"flag"
	"strings"
	"testing"
	"time"
)

func TestMetadataConfig(t *testing.T) {
	c := Default()
	if c.ExiftoolProcesses != 2 || c.OCRLanguages != "eng" || c.ExiftoolTimeout != 30*time.Second || c.ExiftoolBinary != "exiftool" {
		t.Fatalf("defaults: %+v", c)
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.Bind(fs)
	env := map[string]string{"STOR_EXIFTOOL_PROCESSES": "4", "STOR_OCR_LANGUAGES": "eng+deu", "STOR_EXIFTOOL_TIMEOUT": "5s"}
	if err := c.Resolve(fs, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.ExiftoolProcesses != 4 || c.OCRLanguages != "eng+deu" || c.ExiftoolTimeout != 5*time.Second {
		t.Fatalf("from env: %+v", c)
	}
	for _, bad := range []func(*Config){
		func(c *Config) { c.ExiftoolProcesses = 0 },
		func(c *Config) { c.OCRLanguages = "eng; rm -rf /" },
		func(c *Config) { c.OCRLanguages = "eng++deu" },
		func(c *Config) { c.ExiftoolTimeout = 0 },
	} {
		c := Default()
		bad(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "STOR_") {
			t.Errorf("%+v: err %v", c, err)
		}
	}
}
