#!/usr/bin/env node
// ONNX Runtime's side of the benchmark: the same measurements and output
// lines as `nn-tool bench` (load_ms, median_ms, peak_rss_mb), so
// bench/run.sh can put the two side by side.
//
//   node bench/ort_bench.js MODEL [--threads N] [--batch B] [--repeat R]
//
// onnxruntime-node is looked up like tools/zoo/ort_reference.js does
// ($ORT_NODE_DIR, <repo>/build/ort, node's own resolution).
'use strict';

const fs = require('fs');
const path = require('path');

function loadOrt() {
  const repoRoot = path.resolve(__dirname, '..');
  const bases = [process.env.ORT_NODE_DIR, path.join(repoRoot, 'build', 'ort'), process.cwd()].filter(Boolean);
  for (const b of bases) {
    try {
      return require(require.resolve('onnxruntime-node', { paths: [path.resolve(b)] }));
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') throw e;
    }
  }
  return require('onnxruntime-node');
}

function peakRssMb() {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const m = status.match(/VmHWM:\s+(\d+)/);
  return m ? Number(m[1]) / 1024 : 0;
}

// Seeded inputs (xorshift, approximately normal), as nn-tool bench makes them.
function seeded(n, seed) {
  let x = BigInt.asUintN(64, BigInt(seed) * 0x9E3779B97F4A7C15n + 1n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let u = 0;
    for (let k = 0; k < 4; k++) {
      x ^= BigInt.asUintN(64, x << 13n); x ^= x >> 7n; x ^= BigInt.asUintN(64, x << 17n);
      u += Number(x >> 11n) / 9007199254740992;
    }
    out[i] = (u - 2) * 1.7320508;
  }
  return out;
}

async function main() {
  const args = process.argv.slice(2);
  let model = null, threads = 0, batch = 1, repeat = 20;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--threads') threads = Number(args[++i]);
    else if (args[i] === '--batch') batch = Number(args[++i]);
    else if (args[i] === '--repeat') repeat = Number(args[++i]);
    else model = args[i];
  }
  if (!model) { console.error('usage: ort_bench.js MODEL [--threads N] [--batch B] [--repeat R]'); process.exit(2); }
  const ort = loadOrt();
  const baseRss = peakRssMb(); // node + the ORT library before any model
  const opts = { executionProviders: ['cpu'], graphOptimizationLevel: 'all' };
  if (threads > 0) { opts.intraOpNumThreads = threads; opts.interOpNumThreads = 1; }
  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(model, opts);
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const feeds = {};
  // onnxruntime-node exposes input names but not shapes: read dims from the
  // metadata where present, else assume an image model [B,3,224,224].
  const meta = session.inputMetadata || [];
  session.inputNames.forEach((name, i) => {
    let dims = [batch, 3, 224, 224];
    const md = Array.isArray(meta) ? meta[i] : meta[name];
    if (md && md.shape) dims = md.shape.map((d, a) => (typeof d === 'number' && d >= 0 ? d : (a === 0 ? batch : 1)));
    if (dims[0] !== batch) { console.error(`input ${name} has a fixed batch of ${dims[0]}`); process.exit(1); }
    const n = dims.reduce((a, b) => a * b, 1);
    feeds[name] = new ort.Tensor('float32', seeded(n, i + 1), dims);
  });
  const times = [];
  for (let r = -1; r < repeat; r++) {
    const a = process.hrtime.bigint();
    await session.run(feeds);
    if (r >= 0) times.push(Number(process.hrtime.bigint() - a) / 1e6);
  }
  times.sort((a, b) => a - b);
  const median = repeat % 2 ? times[(repeat - 1) / 2] : (times[repeat / 2 - 1] + times[repeat / 2]) / 2;
  console.log(`model: ${model}`);
  console.log(`threads: ${threads}`);
  console.log(`batch: ${batch}`);
  console.log(`load_ms: ${loadMs.toFixed(2)}`);
  console.log(`median_ms: ${median.toFixed(3)}`);
  console.log(`min_ms: ${times[0].toFixed(3)}`);
  console.log(`peak_rss_mb: ${peakRssMb().toFixed(1)}`);
  console.log(`base_rss_mb: ${baseRss.toFixed(1)}`);
}

main().catch((e) => { console.error(String(e)); process.exit(1); });
