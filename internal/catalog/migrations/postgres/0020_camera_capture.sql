-- A capture-date range with a camera at a million assets (issue 6).
--
-- The camera filter (a make in any case, or a part of the model) is no
-- index condition: half a year of a million assets was 25,000 entries of
-- assets_capture_seq tested one by one, or 14,000 rows walked newest
-- first. PostgresSearch resolves the filter to the (make, model) pairs it
-- matches first, skipping through this index one probe per distinct pair,
-- then reads only their entries in the range, index only.
CREATE INDEX assets_camera_capture ON assets ((coalesce(camera_make, '')), (coalesce(camera_model, '')), capture_date)
    INCLUDE (camera_make, camera_model, state, seq);
