package av

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"stor/internal/catalog"
	"stor/internal/pipeline"
	"stor/internal/proc"
)

func (o Options) runAudioAccess(ctx context.Context, tc *pipeline.TaskContext) error {
	src, a, _, err := o.probe(ctx, tc)
	if err != nil {
		return err
	}
	if a.Audio == nil {
		return pipeline.Permanentf("av: no audio stream")
	}
	dir, err := tc.TempDir()
	if err != nil {
		return err
	}
	out := filepath.Join(dir, "access.m4a")
	if _, err := proc.Run(ctx, "ffmpeg", "-nostdin", "-v", "error", "-y", "-i", src, "-map", fmt.Sprintf("0:%d", a.Audio.Index),
		"-vn", "-c:a", "aac", "-b:a", "192k", "-movflags", "+faststart", "-f", "mp4", out); err != nil {
		return fmt.Errorf("av: audio access copy: %w", err)
	}
	return putFile(ctx, tc, catalog.Derivative{Name: "audio-access", ContentType: "audio/mp4"}, out)
}

// Loudness is an EBU R128 measurement.
type Loudness struct {
	IntegratedLUFS float64 `json:"integrated_lufs"`
	RangeLU        float64 `json:"lra_lu"`
	TruePeakDBFS   float64 `json:"true_peak_dbfs"`
}

// Waveform is the peaks file, in the JSON layout of BBC audiowaveform
// (version 2, one channel): min/max pairs of 16-bit samples.
type Waveform struct {
	Version         int     `json:"version"`
	Channels        int     `json:"channels"`
	SampleRate      int     `json:"sample_rate"`
	SamplesPerPixel int     `json:"samples_per_pixel"`
	Bits            int     `json:"bits"`
	Length          int     `json:"length"`
	Data            []int16 `json:"data"`
}

// WaveformPoints is how many min/max pairs a waveform has (about).
const WaveformPoints = 1000

const waveformRate = 8000

// AnalyzeAudio decodes the audio once and makes, from the same decode,
// the loudness (ebur128), the peaks (mono 8 kHz PCM streamed through a
// fixed-size bucket, so memory does not grow with duration) and the PNG
// (showwavespic).
func AnalyzeAudio(ctx context.Context, src string, a *Analysis, png string) (*Loudness, *Waveform, error) {
	if a.Audio == nil {
		return nil, nil, pipeline.Permanentf("av: no audio stream")
	}
	est := max(1, int(a.Duration*waveformRate))
	spp := max(1, (est+WaveformPoints-1)/WaveformPoints)
	graph := fmt.Sprintf("[0:%d]asplit=3[a][b][c];[a]ebur128=peak=true:framelog=verbose[l];"+
		"[b]aformat=channel_layouts=mono:sample_rates=%d[p];[c]showwavespic=s=1800x280:split_channels=0:colors=0x2f6fdf[w]",
		a.Audio.Index, waveformRate)
	cmd := proc.Command(ctx, "ffmpeg", "-nostdin", "-hide_banner", "-v", "info", "-nostats", "-y", "-i", src,
		"-filter_complex", graph,
		"-map", "[l]", "-f", "null", "-",
		"-map", "[p]", "-c:a", "pcm_s16le", "-f", "s16le", "pipe:1",
		"-map", "[w]", "-frames:v", "1", "-f", "image2", "-c:v", "png", png)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	var stderr tailBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("av: start ffmpeg: %w", err)
	}
	wf := &Waveform{Version: 2, Channels: 1, SampleRate: waveformRate, SamplesPerPixel: spp, Bits: 16, Data: []int16{}}
	r := bufio.NewReaderSize(stdout, 64<<10)
	var buf [2]byte
	lo, hi, n := int16(math.MaxInt16), int16(math.MinInt16), 0
	for {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			break
		}
		s := int16(binary.LittleEndian.Uint16(buf[:]))
		lo, hi = min(lo, s), max(hi, s)
		if n++; n == spp {
			wf.Data = append(wf.Data, lo, hi)
			lo, hi, n = math.MaxInt16, math.MinInt16, 0
		}
	}
	if n > 0 {
		wf.Data = append(wf.Data, lo, hi)
	}
	io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("av: waveform: %w", ctx.Err())
		}
		return nil, nil, fmt.Errorf("av: waveform: ffmpeg: %w: %s", err, stderr.String())
	}
	wf.Length = len(wf.Data) / 2
	l, err := parseEBUR128(stderr.String())
	if err != nil {
		return nil, nil, err
	}
	return l, wf, nil
}

var (
	reI    = regexp.MustCompile(`(?m)^\s*I:\s+(-?[0-9.]+|-inf) LUFS`)
	reLRA  = regexp.MustCompile(`(?m)^\s*LRA:\s+(-?[0-9.]+) LU`)
	rePeak = regexp.MustCompile(`(?m)^\s*Peak:\s+(-?[0-9.]+|-inf) dBFS`)
)

// parseEBUR128 reads the summary the ebur128 filter logs at the end.
func parseEBUR128(s string) (*Loudness, error) {
	i, lra, pk := reI.FindAllStringSubmatch(s, -1), reLRA.FindAllStringSubmatch(s, -1), rePeak.FindAllStringSubmatch(s, -1)
	if len(i) == 0 || len(lra) == 0 || len(pk) == 0 {
		return nil, fmt.Errorf("av: no ebur128 summary in ffmpeg's output")
	}
	num := func(v string) float64 {
		if v == "-inf" {
			return -120 // digital silence; JSON has no -Inf
		}
		f, _ := strconv.ParseFloat(v, 64)
		return f
	}
	// The summary comes last; per-frame lines do not match these patterns.
	return &Loudness{IntegratedLUFS: num(i[len(i)-1][1]), RangeLU: num(lra[len(lra)-1][1]), TruePeakDBFS: num(pk[len(pk)-1][1])}, nil
}

func (o Options) runWaveform(ctx context.Context, tc *pipeline.TaskContext) error {
	src, a, _, err := o.probe(ctx, tc)
	if err != nil {
		return err
	}
	if a.Audio == nil {
		return pipeline.Permanentf("av: no audio stream")
	}
	dir, err := tc.TempDir()
	if err != nil {
		return err
	}
	png := filepath.Join(dir, "waveform.png")
	l, wf, err := AnalyzeAudio(ctx, src, a, png)
	if err != nil {
		return err
	}
	lj, _ := json.Marshal(l)
	if err := catalog.PutAVLoudness(ctx, tc.DB().Writer(), tc.Asset.ID, string(lj)); err != nil {
		return err
	}
	wj, err := json.Marshal(wf)
	if err != nil {
		return err
	}
	if err := tc.PutDerivative(ctx, catalog.Derivative{Name: "waveform.json", ContentType: "application/json"}, bytes.NewReader(wj)); err != nil {
		return err
	}
	if _, err := os.Stat(png); err != nil {
		return fmt.Errorf("av: waveform png: %w", err)
	}
	return putFile(ctx, tc, catalog.Derivative{Name: "waveform.png", ContentType: "image/png", Width: 1800, Height: 280}, png)
}
