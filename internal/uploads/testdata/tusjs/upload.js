// node upload.js ENDPOINT TOKEN FILE CHUNK_SIZE
// Uploads FILE with tus-js-client, in chunks, and prints a JSON line with
// the upload URL and the asset id the final PATCH answered with.
const fs = require('fs');
const path = require('path');
const tus = require('tus-js-client');

const [endpoint, token, file, chunk] = process.argv.slice(2);
const size = fs.statSync(file).size;
const upload = new tus.Upload(fs.createReadStream(file), {
  endpoint,
  uploadSize: size,
  chunkSize: Number(chunk),
  retryDelays: [0, 200, 500],
  headers: { Authorization: 'Bearer ' + token },
  metadata: { filename: path.basename(file), ignore_unsupported: '1' },
  onError(err) {
    console.error('upload failed: ' + err);
    process.exit(1);
  },
  onSuccess(payload) {
    const res = payload && payload.lastResponse;
    console.log(JSON.stringify({
      url: upload.url,
      asset_id: res ? res.getHeader('Stor-Asset-Id') : null,
    }));
  },
});
upload.start();
