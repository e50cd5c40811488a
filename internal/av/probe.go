// Package av is stor's audio and video processing: ffprobe analysis, an
// HLS ladder made in one ffmpeg run and published while it runs, a
// progressive MP4, poster frames and thumbnails, storyboards, and for
// audio an AAC access copy, EBU R128 loudness and waveforms. Every tool
// runs through internal/proc, so a cancelled task kills it.
package av

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"stor/internal/pipeline"
	"stor/internal/proc"
)

// Limits bound what stor agrees to decode. A stream over them is refused
// from its declared header, before a single frame is decoded.
type Limits struct {
	MaxSide   int   // widest or tallest picture, pixels (default 16384)
	MaxPixels int64 // width × height (default 8K UHD: 7680×4320 plus a margin, 36 Mpx)
}

func (l Limits) withDefaults() Limits {
	if l.MaxSide <= 0 {
		l.MaxSide = 16384
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = 36_000_000
	}
	return l
}

// Analysis is stor's summary of an ffprobe run; it is stored as JSON.
type Analysis struct {
	Container string   `json:"container"`
	Duration  float64  `json:"duration_seconds"`
	BitRate   int64    `json:"bit_rate,omitempty"`
	Size      int64    `json:"size,omitempty"`
	Video     *Video   `json:"video,omitempty"`
	Audio     *Audio   `json:"audio,omitempty"`
	Streams   []Stream `json:"streams"`
}

// Video describes the main video stream.
type Video struct {
	Index          int     `json:"index"`
	Codec          string  `json:"codec"`
	Profile        string  `json:"profile,omitempty"`
	Width          int     `json:"width"`  // coded, as stored
	Height         int     `json:"height"` // coded, as stored
	DisplayWidth   int     `json:"display_width"`
	DisplayHeight  int     `json:"display_height"`
	Rotation       int     `json:"rotation"` // degrees clockwise to display, 0/90/180/270
	FrameRate      float64 `json:"frame_rate"`
	FrameRateExact string  `json:"frame_rate_exact,omitempty"` // e.g. 30000/1001
	VariableRate   bool    `json:"variable_frame_rate"`
	BitRate        int64   `json:"bit_rate,omitempty"`
	PixFmt         string  `json:"pix_fmt,omitempty"`
	ColorTransfer  string  `json:"color_transfer,omitempty"`
	ColorPrimaries string  `json:"color_primaries,omitempty"`
	HDR            bool    `json:"hdr"`
	Frames         int64   `json:"frames,omitempty"`
}

// Audio describes the main audio stream.
type Audio struct {
	Index         int    `json:"index"`
	Codec         string `json:"codec"`
	Channels      int    `json:"channels"`
	ChannelLayout string `json:"channel_layout,omitempty"`
	SampleRate    int    `json:"sample_rate"`
	BitRate       int64  `json:"bit_rate,omitempty"`
}

// Stream is one stream of the container.
type Stream struct {
	Index int    `json:"index"`
	Type  string `json:"type"`
	Codec string `json:"codec"`
}

// ffprobe's JSON, the fields stor reads.
type probeJSON struct {
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
		BitRate    string `json:"bit_rate"`
		Size       string `json:"size"`
	} `json:"format"`
	Streams []struct {
		Index         int    `json:"index"`
		CodecType     string `json:"codec_type"`
		CodecName     string `json:"codec_name"`
		Profile       string `json:"profile"`
		Width         int    `json:"width"`
		Height        int    `json:"height"`
		SAR           string `json:"sample_aspect_ratio"`
		PixFmt        string `json:"pix_fmt"`
		RFrameRate    string `json:"r_frame_rate"`
		AvgFrameRate  string `json:"avg_frame_rate"`
		BitRate       string `json:"bit_rate"`
		Duration      string `json:"duration"`
		NbFrames      string `json:"nb_frames"`
		Channels      int    `json:"channels"`
		ChannelLayout string `json:"channel_layout"`
		SampleRate    string `json:"sample_rate"`
		ColorTransfer string `json:"color_transfer"`
		ColorPrims    string `json:"color_primaries"`
		Disposition   struct {
			AttachedPic int `json:"attached_pic"`
		} `json:"disposition"`
		Tags     map[string]string `json:"tags"`
		SideData []struct {
			Type     string  `json:"side_data_type"`
			Rotation float64 `json:"rotation"`
		} `json:"side_data_list"`
	} `json:"streams"`
}

// ErrInvalid is wrapped by every refusal of an input (corrupt, empty,
// too large, no streams); such failures are permanent.
var ErrInvalid = errors.New("invalid audio/video input")

// Probe runs ffprobe on path and returns the summary and ffprobe's raw
// JSON. Unreadable or refused input is a pipeline.Permanent error
// wrapping ErrInvalid with the reason.
func Probe(ctx context.Context, path string, lim Limits) (*Analysis, []byte, error) {
	lim = lim.withDefaults()
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("av: %w", err)
	}
	if fi.Size() == 0 {
		return nil, nil, invalid("the file is empty (zero bytes)")
	}
	// ffprobe reads a bounded prefix (probesize) to find the streams; the
	// timeout guards against a pathological file.
	pctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	out, err := proc.Run(pctx, "ffprobe", "-v", "error", "-probesize", "20M", "-analyzeduration", "20M",
		"-print_format", "json", "-show_format", "-show_streams", "--", path)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("av: probe: %w", ctx.Err())
		}
		if pctx.Err() != nil {
			return nil, nil, invalid("ffprobe did not finish within 60 s")
		}
		return nil, nil, invalid("not a readable audio/video file: %s", toolMessage(err))
	}
	var pj probeJSON
	if err := json.Unmarshal(out, &pj); err != nil {
		return nil, nil, invalid("ffprobe output: %v", err)
	}
	a, err := summarize(&pj, lim)
	if err != nil {
		return nil, nil, err
	}
	return a, out, nil
}

func invalid(format string, args ...any) error {
	return pipeline.Permanent(fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...)))
}

// toolMessage shortens a proc error to ffprobe's own words.
func toolMessage(err error) string {
	s := err.Error()
	if i := strings.Index(s, ": "); i > 0 {
		if j := strings.Index(s[i+2:], ": "); j > 0 {
			s = s[i+2+j+2:]
		}
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func summarize(pj *probeJSON, lim Limits) (*Analysis, error) {
	a := &Analysis{Container: pj.Format.FormatName, Streams: []Stream{}}
	a.Duration = parseFloat(pj.Format.Duration)
	a.BitRate = int64(parseFloat(pj.Format.BitRate))
	a.Size = int64(parseFloat(pj.Format.Size))
	for _, s := range pj.Streams {
		a.Streams = append(a.Streams, Stream{Index: s.Index, Type: s.CodecType, Codec: s.CodecName})
		a.Duration = math.Max(a.Duration, 0)
		switch s.CodecType {
		case "video":
			// Cover art in audio files is a "video" stream of one picture.
			if a.Video != nil || s.Disposition.AttachedPic == 1 {
				continue
			}
			v := &Video{Index: s.Index, Codec: s.CodecName, Profile: s.Profile, Width: s.Width, Height: s.Height,
				PixFmt: s.PixFmt, ColorTransfer: s.ColorTransfer, ColorPrimaries: s.ColorPrims,
				BitRate: int64(parseFloat(s.BitRate)), Frames: int64(parseFloat(s.NbFrames))}
			if v.Width <= 0 || v.Height <= 0 {
				return nil, invalid("video stream %d (%s) declares no valid picture size", s.Index, s.CodecName)
			}
			if v.Width > lim.MaxSide || v.Height > lim.MaxSide || int64(v.Width)*int64(v.Height) > lim.MaxPixels {
				return nil, invalid("video stream %d declares %d×%d pixels, over the limit (%d per side, %d pixels); refused before decoding",
					s.Index, v.Width, v.Height, lim.MaxSide, lim.MaxPixels)
			}
			v.Rotation = rotation(s.Tags["rotate"], s.SideData)
			dw, dh := v.Width, v.Height
			if n, d := parseRatio(s.SAR); n > 0 && d > 0 && n != d {
				dw = int(math.Round(float64(dw) * float64(n) / float64(d)))
			}
			if v.Rotation == 90 || v.Rotation == 270 {
				dw, dh = dh, dw
			}
			v.DisplayWidth, v.DisplayHeight = dw, dh
			avg, r := ratioFloat(s.AvgFrameRate), ratioFloat(s.RFrameRate)
			switch {
			case avg > 0 && avg <= 240:
				v.FrameRate, v.FrameRateExact = avg, s.AvgFrameRate
			case r > 0 && r <= 240:
				v.FrameRate, v.FrameRateExact = r, s.RFrameRate
			}
			v.VariableRate = avg > 0 && r > 0 && math.Abs(avg-r) > 0.01*r
			v.HDR = s.ColorTransfer == "smpte2084" || s.ColorTransfer == "arib-std-b67"
			a.Video = v
			a.Duration = math.Max(a.Duration, parseFloat(s.Duration))
		case "audio":
			if a.Audio != nil {
				continue
			}
			a.Audio = &Audio{Index: s.Index, Codec: s.CodecName, Channels: s.Channels, ChannelLayout: s.ChannelLayout,
				SampleRate: int(parseFloat(s.SampleRate)), BitRate: int64(parseFloat(s.BitRate))}
			a.Duration = math.Max(a.Duration, parseFloat(s.Duration))
		}
	}
	if a.Video == nil && a.Audio == nil {
		return nil, invalid("no audio or video stream found (container %q)", a.Container)
	}
	if a.Duration <= 0 && (a.Video == nil || a.Video.Frames == 0) {
		return nil, invalid("no duration: the file is empty or truncated")
	}
	return a, nil
}

// rotation returns the clockwise rotation a player applies, from the
// display matrix (ffprobe reports it counter-clockwise, negative for
// clockwise) or the old "rotate" tag.
func rotation(tag string, side []struct {
	Type     string  `json:"side_data_type"`
	Rotation float64 `json:"rotation"`
}) int {
	deg := 0.0
	if tag != "" {
		deg = parseFloat(tag)
	}
	for _, sd := range side {
		if sd.Type == "Display Matrix" {
			deg = -sd.Rotation
		}
	}
	r := int(math.Round(deg/90)) * 90 % 360
	if r < 0 {
		r += 360
	}
	return r
}

func parseFloat(s string) float64 {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

func parseRatio(s string) (int, int) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		a, b, ok = strings.Cut(s, "/")
	}
	if !ok {
		return 0, 0
	}
	n, err1 := strconv.Atoi(a)
	d, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil {
		return 0, 0
	}
	return n, d
}

func ratioFloat(s string) float64 {
	n, d := parseRatio(s)
	if n <= 0 || d <= 0 {
		return 0
	}
	return float64(n) / float64(d)
}
