// node upload.js <endpoint> <token> <file> <metadata-json> <chunk-bytes> [stop-after-bytes]
// Prints the upload URL and "done <bytes>" (or "stopped <offset>" when told to stop early).
const fs = require("fs");
const tus = require("tus-js-client");

const [endpoint, token, file, metaJson, chunk, stopAfter, resumeUrl] = process.argv.slice(2);
const data = fs.readFileSync(file);
let stopped = false;
const upload = new tus.Upload(data, {
  endpoint,
  uploadUrl: resumeUrl || null,
  chunkSize: Number(chunk),
  retryDelays: [0, 100, 500],
  headers: { Authorization: `Bearer ${token}` },
  metadata: JSON.parse(metaJson),
  onProgress(sent) {
    if (stopAfter && !stopped && sent >= Number(stopAfter)) {
      stopped = true;
      upload.abort().then(() => {
        console.log(`url ${upload.url}`);
        console.log(`stopped ${sent}`);
      });
    }
  },
  onError(err) {
    console.error(`error ${err}`);
    process.exit(1);
  },
  onSuccess() {
    console.log(`url ${upload.url}`);
    console.log(`done ${data.length}`);
  },
});
upload.start();
