package av

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Rung is one rendition of the HLS ladder.
type Rung struct {
	Name          string // "360p"
	Width, Height int    // even, display orientation
	VideoKbps     int    // target; maxrate is 1.07×, buffer 1.5×
}

// ladder is the standard set, by the short side of the picture.
var ladder = []struct{ p, kbps int }{{240, 400}, {360, 800}, {480, 1400}, {720, 2800}, {1080, 5000}}

// AudioKbps is the AAC bit rate of every rendition.
const AudioKbps = 128

// Ladder chooses the rungs for a picture of display size w×h: every
// standard rung up to the source's short side (never upscaled), and one
// rung at the source size when it is smaller than the smallest.
func Ladder(w, h int) []Rung {
	short := min(w, h)
	var out []Rung
	for _, l := range ladder {
		if l.p > short {
			break
		}
		out = append(out, fit(w, h, l.p, l.kbps, strconv.Itoa(l.p)+"p"))
	}
	if len(out) == 0 {
		// A tiny source: one rung at its own size, bit rate by area.
		kbps := max(100, int(400*float64(w*h)/(426*240)))
		out = append(out, fit(w, h, short, kbps, strconv.Itoa(even(short))+"p"))
	}
	return out
}

// fit scales w×h so that its short side is p, both sides even.
func fit(w, h, p, kbps int, name string) Rung {
	r := Rung{Name: name, VideoKbps: kbps}
	if w >= h {
		r.Height = even(p)
		r.Width = even(int(math.Round(float64(w) * float64(p) / float64(h))))
	} else {
		r.Width = even(p)
		r.Height = even(int(math.Round(float64(h) * float64(p) / float64(w))))
	}
	return r
}

func even(v int) int { return max(2, v&^1) }

// Encoding holds the encoder settings of a transcode.
type Encoding struct {
	Preset     string  // x264 preset (default "veryfast")
	SegmentSec int     // HLS segment length (default 4)
	MaxFPS     float64 // frame rate cap (default 60)
}

func (e Encoding) withDefaults() Encoding {
	if e.Preset == "" {
		e.Preset = "veryfast"
	}
	if e.SegmentSec <= 0 {
		e.SegmentSec = 4
	}
	if e.MaxFPS <= 0 {
		e.MaxFPS = 60
	}
	return e
}

// outputFPS is the constant frame rate of the renditions: the source's
// (average) rate, capped; VFR sources are made constant by the fps filter.
func outputFPS(v *Video, e Encoding) (string, float64) {
	if v == nil || v.FrameRate <= 0 {
		return "25", 25
	}
	if v.FrameRate > e.MaxFPS {
		return strconv.FormatFloat(e.MaxFPS, 'f', -1, 64), e.MaxFPS
	}
	if v.FrameRateExact != "" && !strings.HasSuffix(v.FrameRateExact, "/0") {
		return v.FrameRateExact, v.FrameRate
	}
	return strconv.FormatFloat(v.FrameRate, 'f', 3, 64), v.FrameRate
}

// ScaleFilter is the filter that scales a picture to rung r (square
// pixels). bench/avbench's per-rung arm uses it too, so that both arms of
// the comparison scale alike.
func ScaleFilter(r Rung) string {
	return fmt.Sprintf("scale=%d:%d,setsar=1", r.Width, r.Height)
}

// Plan is the one ffmpeg run of a transcode.
//
// Its HLS outputs are variants v0, v1, ...: one per rung (video only),
// then, when the source has audio, one AAC audio rendition that every
// rung shares (encoded once, not once per rung: the master lists it as
// an EXT-X-MEDIA TYPE=AUDIO group). An audio-only source is v0, audio.
type Plan struct {
	Rungs      []Rung // empty for audio-only
	Audio      bool   // the ladder has the AAC audio rendition
	AudioIndex int    // the audio rendition's variant (vN), -1 for none
	FPS        float64
	MP4        string // progressive MP4 output path, "" for none
	MP4Rung    Rung   // the rung it copies (the top one)
	OutDir     string // HLS output directory (v0/, v1/, ...)
	Args       []string
	SegmentSec int
	GOP        int // frames between key frames: FPS × SegmentSec

	enc Encoding // with defaults
}

// RungVideoArgs are the x264 options of rung i: spec is the stream
// specifier they apply to (":v:2" in the one-run ladder, "" in a run
// with one video output: bench/avbench's per-rung arm runs exactly
// these, so both arms of the comparison encode alike).
func (p *Plan) RungVideoArgs(i int, spec string) []string {
	r, gop := p.Rungs[i], strconv.Itoa(p.GOP)
	return []string{"-c" + spec, "libx264", "-preset" + spec, p.enc.Preset, "-pix_fmt" + spec, "yuv420p",
		"-g" + spec, gop, "-keyint_min" + spec, gop, "-sc_threshold" + spec, "0",
		"-force_key_frames" + spec, fmt.Sprintf("expr:gte(t,n_forced*%d)", p.SegmentSec),
		"-b" + spec, fmt.Sprintf("%dk", r.VideoKbps),
		"-maxrate" + spec, fmt.Sprintf("%dk", r.VideoKbps*107/100),
		"-bufsize" + spec, fmt.Sprintf("%dk", r.VideoKbps*3/2)}
}

// AudioArgs are the options of the AAC audio rendition.
func AudioArgs() []string {
	return []string{"-c:a", "aac", "-b:a", fmt.Sprintf("%dk", AudioKbps), "-ac", "2", "-ar", "48000"}
}

// Variants is the number of HLS variant directories (v0 … vN-1).
func (p *Plan) Variants() int {
	if p.Audio {
		return len(p.Rungs) + 1
	}
	return max(1, len(p.Rungs))
}

// BuildPlan makes the ffmpeg arguments that decode src once and encode
// every rung and the audio rendition. When mp4 is set, the progressive
// MP4 is made after the run from the top rung and the audio, copied, not
// encoded again (MP4Args).
func BuildPlan(src string, a *Analysis, outDir, mp4 string, e Encoding) *Plan {
	e = e.withDefaults()
	p := &Plan{OutDir: outDir, Audio: a.Audio != nil, AudioIndex: -1, SegmentSec: e.SegmentSec}
	args := []string{"-nostdin", "-hide_banner", "-v", "error", "-nostats", "-progress", "pipe:1", "-i", src}
	var hlsMaps, encs, streamMap []string
	if a.Video != nil {
		p.Rungs = Ladder(a.Video.DisplayWidth, a.Video.DisplayHeight)
		fpsExpr, fps := outputFPS(a.Video, e)
		p.FPS = fps
		if mp4 != "" {
			p.MP4, p.MP4Rung = mp4, p.Rungs[len(p.Rungs)-1]
		}
		// One decode: fps (VFR → CFR) and pixel format once, then a
		// cascade: the top rung is scaled from the source, each smaller
		// rung from the next larger one (not every rung from the full
		// picture: measured 12% less CPU for a 1080p ladder, see
		// docs/benchmarks.md). The progressive MP4 shares the top rung's
		// scaled picture. ffmpeg applies the display rotation (autorotate)
		// before this graph.
		g := &strings.Builder{}
		fmt.Fprintf(g, "[0:v:0]fps=%s,format=yuv420p,", fpsExpr)
		for i := len(p.Rungs) - 1; i >= 0; i-- {
			r := p.Rungs[i]
			if i < len(p.Rungs)-1 {
				fmt.Fprintf(g, ";[c%d]", i+1)
			}
			g.WriteString(ScaleFilter(r))
			outs := []string{fmt.Sprintf("[v%d]", i)}
			if i > 0 {
				outs = append(outs, fmt.Sprintf("[c%d]", i))
			}
			if len(outs) > 1 {
				fmt.Fprintf(g, ",split=%d", len(outs))
			}
			g.WriteString(strings.Join(outs, ""))
		}
		args = append(args, "-filter_complex", g.String())
		p.GOP = max(1, int(math.Round(fps*float64(e.SegmentSec))))
		p.enc = e
		for i := range p.Rungs {
			hlsMaps = append(hlsMaps, "-map", fmt.Sprintf("[v%d]", i))
			encs = append(encs, p.RungVideoArgs(i, fmt.Sprintf(":v:%d", i))...)
			streamMap = append(streamMap, "v:"+strconv.Itoa(i))
		}
	}
	if p.Audio {
		// One AAC encode for the whole ladder, its own variant.
		p.AudioIndex = len(p.Rungs)
		hlsMaps = append(hlsMaps, "-map", fmt.Sprintf("0:%d", a.Audio.Index))
		streamMap = append(streamMap, "a:0")
	}
	if p.Audio {
		encs = append(encs, AudioArgs()...)
	}
	args = append(args, hlsMaps...)
	args = append(args, encs...)
	args = append(args, "-f", "hls", "-hls_time", strconv.Itoa(e.SegmentSec), "-hls_playlist_type", "event",
		"-hls_segment_type", "fmp4", "-hls_flags", "temp_file+independent_segments",
		"-hls_fmp4_init_filename", "init.mp4",
		"-hls_segment_filename", outDir+"/v%v/seg%05d.m4s",
		"-var_stream_map", strings.Join(streamMap, " "), outDir+"/v%v/index.m3u8")
	p.Args = args
	return p
}

// MP4Args is the ffmpeg command that makes the progressive MP4 once the
// ladder is done: the top rung's video and the audio rendition, copied
// (no second encode) into one MP4 with the index first (faststart).
func (p *Plan) MP4Args() []string {
	top := fmt.Sprintf("%s/v%d/index.m3u8", p.OutDir, len(p.Rungs)-1)
	args := []string{"-nostdin", "-hide_banner", "-v", "error", "-nostats", "-i", top}
	if p.Audio {
		args = append(args, "-i", fmt.Sprintf("%s/v%d/index.m3u8", p.OutDir, p.AudioIndex), "-map", "0:v:0", "-map", "1:a:0")
	} else {
		args = append(args, "-map", "0:v:0")
	}
	return append(args, "-c", "copy", "-movflags", "+faststart", "-f", "mp4", "-y", p.MP4)
}
