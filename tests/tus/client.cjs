// A tus-js-client driver for the photo tests: uploads files to a tus endpoint with a bearer token
// and prints one JSON line per event (request, chunk, success, error) on stdout.
// usage: node client.cjs ENDPOINT TOKEN [--chunk BYTES] [--resume URL] [--meta key=value]... FILE...
// sha256 metadata is computed from each file unless given with --meta sha256=...
// NODE_PATH must point at a node_modules holding tus-js-client (scripts/ensure-test-tools).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const tus = require('tus-js-client');

const args = process.argv.slice(2);
const [endpoint, token] = args.splice(0, 2);
let chunkSize = Infinity;
let resume = null;
const extra = {};
const files = [];
while (args.length) {
  const a = args.shift();
  if (a === '--chunk') chunkSize = Number(args.shift());
  else if (a === '--resume') resume = args.shift();
  else if (a === '--meta') { const [k, ...v] = args.shift().split('='); extra[k] = v.join('='); }
  else files.push(a);
}
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

function upload(file) {
  return new Promise((resolve) => {
    const data = fs.readFileSync(file);
    const metadata = {
      filename: path.basename(file),
      purpose: 'after',
      sha256: crypto.createHash('sha256').update(data).digest('hex'),
      ...extra,
    };
    let photo = null;
    const u = new tus.Upload(data, {
      endpoint,
      uploadUrl: resume,
      chunkSize,
      retryDelays: [0, 200, 500, 1000, 2000],
      headers: { Authorization: `Bearer ${token}` },
      metadata,
      storeFingerprintForResuming: false,
      removeFingerprintOnSuccess: false,
      onBeforeRequest: (req) => out({ event: 'request', file, method: req.getMethod(), offset: req.getHeader('Upload-Offset') ?? null }),
      onAfterResponse: (req, res) => { const p = res.getHeader('Closeout-Photo'); if (p) photo = p; },
      onChunkComplete: (_size, accepted, total) => out({ event: 'chunk', file, url: u.url, accepted, total }),
      onError: (err) => {
        const r = err.originalResponse;
        out({ event: 'error', file, url: u.url, status: r ? r.getStatus() : null, body: r ? r.getBody() : null, message: String(err) });
        resolve(false);
      },
      onSuccess: () => { out({ event: 'success', file, url: u.url, photo }); resolve(true); },
    });
    u.start();
  });
}

(async () => {
  let ok = true;
  for (const f of files) ok = (await upload(f)) && ok;
  process.exit(ok ? 0 : 1);
})();
