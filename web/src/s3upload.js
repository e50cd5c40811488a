// Direct browser-to-S3 uploads with Uppy's AWS S3 plugin (@uppy/aws-s3) in
// its Companion mode against stor's /api/v1/uploads/s3: stor creates the
// multipart upload and signs each part, the browser PUTs the parts straight
// to the bucket, and stor verifies and ingests the object on complete. Used
// by the upload page when GET /api/v1/session says
// uploads.s3_multipart (the store is S3).
//
// The plugin's own requests carry the session cookie (same origin) and no
// X-Stor-CSRF; the browser's Sec-Fetch-Site: same-origin stands for it.
// A part whose PUT fails is sent again by the plugin, alone; parts already
// in the bucket are not sent again.
import AwsS3 from '@uppy/aws-s3';

const MiB = 1024 * 1024;

// s3Uploads reports whether the server takes direct S3 uploads.
export function s3Uploads(me) {
  return !!(me && me.uploads && me.uploads.s3_multipart);
}

// useS3 installs the plugin on uppy.
export function useS3(uppy) {
  uppy.use(AwsS3, {
    companionEndpoint: new URL('api/v1/uploads', document.baseURI).href,
    // stor must hear of every completion to ingest: always multipart.
    shouldUseMultipart: true,
    // 8 MiB parts (S3's minimum is 5 MiB, at most 10000 parts).
    getChunkSize: ({ size }) => Math.max(8 * MiB, Math.ceil(size / 10000)),
    // The server takes these from metadata: name (the filename), project.
    allowedMetaFields: ['name', 'type', 'project'],
    limit: 3,
  });
}

// assetFromS3 is the asset id of a finished upload: stor's complete answers
// with the asset's URL as its location.
export function assetFromS3(resp) {
  const loc = (resp && (resp.uploadURL || (resp.body && resp.body.location))) || '';
  const m = loc.match(/\/api\/v1\/assets\/([^/?#]+)/);
  return m ? decodeURIComponent(m[1]) : null;
}
