// Benchmark client (tus-js-client, as the peer script uses): uploads FILEs, CONC at a time, in
// CHUNK-byte PATCHes; prints {"files", "bytes", "secs", "mib_s"}.
// usage: node bench-client.cjs ENDPOINT TOKEN CHUNK CONC FILE...
// With BENCH_EXPECT_REFUSAL=1, a 415 on the last PATCH counts as done (transfer-path runs).
'use strict';
const fs = require('node:fs');
const crypto = require('node:crypto');
const tus = require('tus-js-client');
const [endpoint, token, chunk, conc, ...files] = process.argv.slice(2);

function upload(file) {
  // The declared SHA-256 is computed before the clock starts (a phone has it from the capture).
  const sha256 = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  return () => new Promise((resolve, reject) => {
    const u = new tus.Upload(fs.createReadStream(file), {
      endpoint, chunkSize: Number(chunk), retryDelays: null, uploadSize: fs.statSync(file).size,
      headers: { Authorization: `Bearer ${token}` },
      metadata: { filename: file, purpose: 'after', sha256 },
      storeFingerprintForResuming: false,
      onError: (err) => {
        const r = err.originalResponse;
        if (process.env.BENCH_EXPECT_REFUSAL === '1' && r && r.getStatus() === 415) resolve(u.url);
        else reject(err);
      },
      onSuccess: () => (process.env.BENCH_EXPECT_REFUSAL === '1' ? reject(new Error('expected 415')) : resolve(u.url)),
    });
    u.start();
  });
}

(async () => {
  const jobs = files.map(upload);
  let bytes = 0;
  for (const f of files) bytes += fs.statSync(f).size;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(Number(conc), jobs.length) }, async () => {
    for (let j; (j = jobs.shift()) !== undefined;) await j();
  }));
  const secs = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ files: files.length, bytes, secs, mib_s: bytes / 1048576 / secs }));
})().catch((e) => { console.error(String(e)); process.exit(1); });
