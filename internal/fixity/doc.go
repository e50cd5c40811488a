// Package fixity keeps stored bytes honest: audits re-read and re-hash
// every copy of every original (and, optionally, derivatives) at a paced
// rate, record each check, flag an asset whose copy is corrupt or missing,
// fire the alert webhook, and repair the bad copy from a good one. It also
// holds replication (the "replicate" pipeline task that puts a verified
// copy of each original on every replica) and the purge of deleted assets
// after their retention period.
//
// Copies are named: "primary" is the main store, a replica is named by its
// spec ("dir:/mnt/b/stor"). Every copy of an original lives at the same
// content-addressed key.
//
// Events recorded on the asset: fixity.failed (the asset went from ok or
// unchecked to failed), repaired (one copy rewritten from a good one),
// fixity.ok (a failed asset verifies again without a repair of ours),
// replicated (a replica holds a verified copy), purged. A passing check
// is only a row in fixity_checks: an event per pass would drown the
// history.
package fixity
