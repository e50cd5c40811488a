-- Audio/video analysis: one row per asset. analysis is stor's summary
-- (container, streams, codecs, frame rate, bit rates, rotation, HDR flag,
-- audio channels and sample rate) as JSON; probe is ffprobe's full JSON;
-- loudness is the EBU R128 measurement (integrated LUFS, LRA, true peak),
-- written by the waveform task independently of the probe.
CREATE TABLE av_analysis (
    asset_id   TEXT    PRIMARY KEY,
    analysis   TEXT,
    probe      TEXT,
    loudness   TEXT,
    updated_at INTEGER NOT NULL
);

-- When the first segment of every HLS rung was published (unix
-- microseconds, UTC): the asset can be watched from then on.
ALTER TABLE assets ADD COLUMN playable_at INTEGER;
