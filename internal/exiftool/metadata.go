package exiftool

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Metadata is everything exiftool read from one file.
type Metadata struct {
	// Groups holds every tag, by family-0 group lowercased ("exif",
	// "iptc", "xmp", "file", "icc_profile", "makernotes", "quicktime",
	// "pdf", "composite", "jfif", "riff", ...), then by "Family1:Tag"
	// ("IFD0:Make", "ExifIFD:DateTimeOriginal", "XMP-dc:Title",
	// "IPTC:Keywords", "File:MIMEType", "MWG:Creator"). A tag that appears
	// twice in one family-1 group (exiftool -a) keeps its first value under
	// "Family1:Tag" and the next under "Family1:Tag (2)", and so on.
	// The file-system tags (family 1 "System": the scratch path, dates and
	// permissions of the copy exiftool read) are left out, except FileSize.
	// The result marshals to JSON as the API serves it.
	Groups map[string]map[string]Value `json:"groups"`
	// Normalized holds the reconciled fields, see Normalized.
	Normalized Normalized `json:"normalized"`
	// Warnings are exiftool's own warnings about the file
	// (ExifTool:Warning), for example "[minor] Bad format (0) for ...".
	Warnings []string `json:"warnings,omitempty"`
	// Error is exiftool's error about the file (ExifTool:Error), for
	// example "Unknown file type" or "File format error". A file exiftool
	// cannot parse is not a Go error: its Metadata just has little in it.
	Error string `json:"error,omitempty"`
}

// Value is one tag value: Raw is the machine value (exiftool -n: numbers
// as int64 or float64, lists as []any, structures as map[string]any,
// text as string); Display is exiftool's print conversion ("Rotate 90 CW",
// "1/200", "48 deg 51' 29.88\" N"). Binary data is never extracted: its
// Display (and Raw) is exiftool's summary "(Binary data 1234 bytes, use -b
// option to extract)". Every string is valid UTF-8 without NUL.
type Value struct {
	Raw     any    `json:"raw"`
	Display string `json:"display"`
}

// Get returns the value of a tag by family-0 group (any case) and
// "Family1:Tag" key.
func (m *Metadata) Get(family0, key string) (Value, bool) {
	g, ok := m.Groups[strings.ToLower(family0)]
	if !ok {
		return Value{}, false
	}
	v, ok := g[key]
	return v, ok
}

// tagEntry is exiftool's "-j -l" form of one tag.
type tagEntry struct {
	Val json.RawMessage `json:"val"`
	Num json.RawMessage `json:"num"`
}

// parseJSON turns the output of "exiftool -j -l -G0:1 -a" for one file into
// Metadata (without Normalized). The token stream is walked by hand so that
// duplicate keys (-a) are kept.
func parseJSON(data []byte) (*Metadata, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := expectDelim(dec, '['); err != nil {
		return nil, err
	}
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	m := &Metadata{Groups: map[string]map[string]Value{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadOutput, err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%w: key %v", ErrBadOutput, tok)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrBadOutput, key, err)
		}
		if key == "SourceFile" {
			continue
		}
		family0, family1, tag := splitKey(key)
		if family1 == "System" && tag != "FileSize" {
			continue
		}
		var e tagEntry
		if err := json.Unmarshal(raw, &e); err != nil || e.Val == nil {
			// Not the -l object form: take the value as it is.
			e = tagEntry{Val: raw}
		}
		v, err := makeValue(e)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrBadOutput, key, err)
		}
		if family0 == "ExifTool" {
			switch tag {
			case "Warning":
				m.Warnings = append(m.Warnings, v.Display)
			case "Error":
				m.Error = v.Display
			}
		}
		g := strings.ToLower(family0)
		if m.Groups[g] == nil {
			m.Groups[g] = map[string]Value{}
		}
		k := family1 + ":" + tag
		if _, dup := m.Groups[g][k]; dup {
			for i := 2; ; i++ {
				kk := k + " (" + strconv.Itoa(i) + ")"
				if _, dup := m.Groups[g][kk]; !dup {
					k = kk
					break
				}
			}
		}
		m.Groups[g][k] = v
	}
	return m, nil
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err == io.EOF {
		return fmt.Errorf("%w: empty output", ErrBadOutput)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadOutput, err)
	}
	if tok != d {
		return fmt.Errorf("%w: want %v, got %v", ErrBadOutput, d, tok)
	}
	return nil
}

// splitKey splits "EXIF:IFD0:Make" (-G0:1) into its groups and tag; when
// family 1 is the same as family 0 exiftool prints it once ("IPTC:Keywords").
func splitKey(key string) (family0, family1, tag string) {
	parts := strings.Split(key, ":")
	switch len(parts) {
	case 1:
		return "Other", "Other", parts[0]
	case 2:
		return parts[0], parts[0], parts[1]
	default:
		return parts[0], strings.Join(parts[1:len(parts)-1], ":"), parts[len(parts)-1]
	}
}

func makeValue(e tagEntry) (Value, error) {
	val, err := decodeAny(e.Val)
	if err != nil {
		return Value{}, err
	}
	raw := val
	if len(e.Num) > 0 {
		if raw, err = decodeAny(e.Num); err != nil {
			return Value{}, err
		}
	}
	return Value{Raw: raw, Display: display(val)}, nil
}

func decodeAny(data json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return clean(v), nil
}

// clean converts json.Number to int64 or float64 and makes every string
// valid UTF-8 without NUL (encoding/json already replaced invalid bytes
// with U+FFFD; NUL is dropped because PostgreSQL text and jsonb refuse it).
func clean(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		if f, err := t.Float64(); err == nil && !math.IsInf(f, 0) {
			return f
		}
		return t.String()
	case string:
		return sanitize(t)
	case []any:
		for i := range t {
			t[i] = clean(t[i])
		}
		return t
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[sanitize(k)] = clean(x)
		}
		return out
	default:
		return v
	}
}

func sanitize(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return s
}

// display renders a decoded value as text: lists joined with ", ",
// structures as compact JSON.
func display(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case int64:
		return strconv.FormatInt(t, 10)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	case []any:
		parts := make([]string, len(t))
		for i, x := range t {
			parts[i] = display(x)
		}
		return strings.Join(parts, ", ")
	default:
		b, err := json.Marshal(t)
		if err != nil {
			return fmt.Sprint(t)
		}
		return string(b)
	}
}
