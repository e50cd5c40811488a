package av

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"stor/internal/catalog"
	"stor/internal/pipeline"
)

// Options configure the audio/video tasks.
type Options struct {
	Limits   Limits
	Encoding Encoding
	// NoMP4 leaves out the progressive MP4.
	NoMP4 bool
	// OldLadderGrace is how long a reprocessed asset's previous HLS ladder
	// stays after the master switched to the new one (default 2 min:
	// players cache the master for 60 s; negative: removed at once).
	OldLadderGrace time.Duration
}

// Task names.
const (
	TaskProbe      = "av-probe"
	TaskHLS        = "hls"
	TaskPoster     = "poster"
	TaskStoryboard = "storyboard"
	TaskAudio      = "audio-access"
	TaskWaveform   = "waveform"
)

func isAV(a *catalog.Asset) bool    { return a.Kind == "video" || a.Kind == "audio" }
func isVideo(a *catalog.Asset) bool { return a.Kind == "video" }
func isAudio(a *catalog.Asset) bool { return a.Kind == "audio" }

// durationTimeout scales a task's timeout with the asset's duration: base
// plus perSecond for each second of media. Before av-probe has recorded
// the duration it is estimated from the file size at a low bit rate
// (64 kB/s), which errs long.
func durationTimeout(base time.Duration, perSecond float64) func(a *catalog.Asset) time.Duration {
	return func(a *catalog.Asset) time.Duration {
		if a == nil {
			return base
		}
		d := a.DurationSeconds
		if d <= 0 {
			d = min(float64(a.Size)/64e3, 12*3600)
		}
		return base + time.Duration(d*perSecond*float64(time.Second))
	}
}

// Tasks returns the audio/video tasks.
func Tasks(o Options) []pipeline.Task {
	return []pipeline.Task{
		{Name: TaskProbe, Applies: isAV, Required: true, Class: pipeline.Light, Timeout: 2 * time.Minute,
			MaxAttempts: 3, Run: o.runProbe},
		{Name: TaskHLS, Applies: isAV, Required: true, Class: pipeline.Heavy,
			TimeoutFor: durationTimeout(10*time.Minute, 6), MaxAttempts: 3, Run: o.runHLS},
		// The poster yields to the ladder's first segments (see
		// firstSegmentsPending). It is not niced: it runs after them, and
		// beside the rest of the ladder, niced, it took twice as long
		// (done 22.8 s after upload instead of 15.7 s, 60 s phone clip).
		{Name: TaskPoster, Applies: isVideo, Class: pipeline.Light, Timeout: 3 * time.Minute,
			MaxAttempts: 3, Yield: firstSegmentsPending, Run: o.runPoster},
		// The storyboard decodes the whole clip: it waits for the ladder so
		// that, with several heavy workers, it never takes CPU from the
		// first segments (upload → playable must not grow with duration).
		{Name: TaskStoryboard, Applies: isVideo, Class: pipeline.Heavy, After: []string{TaskHLS},
			TimeoutFor: durationTimeout(5*time.Minute, 1), MaxAttempts: 3, Run: o.runStoryboard},
		{Name: TaskAudio, Applies: isAudio, Required: true, Class: pipeline.Light,
			TimeoutFor: durationTimeout(5*time.Minute, 0.5), MaxAttempts: 3, Run: o.runAudioAccess},
		{Name: TaskWaveform, Applies: isAudio, Class: pipeline.Light,
			TimeoutFor: durationTimeout(5*time.Minute, 0.5), MaxAttempts: 3, Run: o.runWaveform},
	}
}

// firstSegmentsPending reports whether a video's ladder is still making
// its first segments: the asset has never been playable and its HLS task
// has not ended. Tasks that are not needed to play (the poster) wait for
// that moment: on a small machine they would otherwise share the cores
// with the segments a viewer is waiting for (60 s phone clip, 2 cores:
// playable about 1 s sooner, docs/benchmarks.md).
func firstSegmentsPending(ctx context.Context, q catalog.Querier, a *catalog.Asset) bool {
	if a.PlayableAt != nil {
		return false
	}
	t, err := catalog.TaskByName(ctx, q, a.ID, TaskHLS)
	return err == nil && !catalog.TaskDone(t.State)
}

// probe is the first step of every task: the tasks of an asset run
// concurrently, and those in one process share one ffprobe run (probes).
// The analysis is shared: read it, do not change it.
func (o Options) probe(ctx context.Context, tc *pipeline.TaskContext) (string, *Analysis, []byte, error) {
	src, err := tc.OriginalFile(ctx)
	if err != nil {
		return "", nil, nil, err
	}
	a, raw, err := probes.get(ctx, probeKey(tc), func(ctx context.Context) (*Analysis, []byte, error) {
		return Probe(ctx, src, o.Limits)
	})
	return src, a, raw, err
}

func (o Options) runProbe(ctx context.Context, tc *pipeline.TaskContext) error {
	_, a, raw, err := o.probe(ctx, tc)
	if err != nil {
		return err
	}
	sum, err := json.Marshal(a)
	if err != nil {
		return err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return pipeline.Permanent(fmt.Errorf("av: ffprobe json: %w", err))
	}
	if err := catalog.PutAVProbe(ctx, tc.DB().Writer(), tc.Asset.ID, string(sum), compact.String()); err != nil {
		return err
	}
	info := catalog.AssetInfo{DurationSeconds: a.Duration}
	if a.Video != nil {
		info.Width, info.Height = a.Video.DisplayWidth, a.Video.DisplayHeight
	}
	return tc.UpdateAsset(ctx, info)
}

func (o Options) runHLS(ctx context.Context, tc *pipeline.TaskContext) error {
	src, a, _, err := o.probe(ctx, tc)
	if err != nil {
		return err
	}
	tmp, err := tc.TempDir()
	if err != nil {
		return err
	}
	id := tc.Asset.ID
	t := &Transcode{
		Store: tc.Store(), Key: func(name string) string { return pipeline.DerivativeKey(id, name) },
		Src: src, Analysis: a, TempDir: tmp, MP4: !o.NoMP4, Encoding: o.Encoding, Log: tc.Log,
		Progress: func(pct int) { tc.Progress(ctx, pct) },
		OnPlayable: func(at time.Time) {
			if err := catalog.SetPlayableAt(ctx, tc.DB().Writer(), id, at); err != nil {
				tc.Log.WarnContext(ctx, "recording playable_at", "err", err)
			}
		},
	}
	res, err := t.Run(ctx)
	if err != nil {
		return err
	}
	if res.MP4Path != "" {
		f, err := os.Open(res.MP4Path)
		if err != nil {
			return err
		}
		r := res.Plan.MP4Rung
		err = tc.PutDerivative(ctx, catalog.Derivative{Name: "mp4", ContentType: "video/mp4", Width: r.Width, Height: r.Height}, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	// The master goes last, in one atomic Put: it only ever points at
	// complete VOD rung playlists. A reprocess wrote a new version beside
	// the published one, which viewers kept playing until this switch;
	// the older versions are removed after it.
	top := catalog.Derivative{Name: MasterName, ContentType: "application/vnd.apple.mpegurl"}
	if n := len(res.Plan.Rungs); n > 0 {
		top.Width, top.Height = res.Plan.Rungs[n-1].Width, res.Plan.Rungs[n-1].Height
	}
	grace := o.OldLadderGrace
	if grace == 0 {
		grace = 2 * time.Minute
	}
	published, err := PublishMaster(ctx, tc.Store(), t.Key, res, max(0, grace), func() error {
		return tc.PutDerivative(ctx, top, bytes.NewReader(res.Master))
	})
	if err != nil {
		return err
	}
	tc.Log.InfoContext(ctx, "hls ladder done", "rungs", len(res.Plan.Rungs), "segments", res.Segments,
		"version", res.Version, "published", published, "elapsed_ms", res.Elapsed.Milliseconds())
	return nil
}
