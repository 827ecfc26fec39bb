#!/usr/bin/env node
// Write ONNX Runtime reference outputs for ONNX backend-test style cases.
//
//   node ort_reference.js CASEDIR...
//
// For each CASEDIR/model.onnx and each CASEDIR/test_data_set_*/input_K.pb,
// runs onnxruntime-node (CPU, default 'all' graph optimisation) and writes
// output_K.pb in graph output order.
//
// onnxruntime-node is looked up in: $ORT_NODE_DIR (a directory holding
// node_modules/), <repo>/build/ort, then the usual node resolution from this
// script and the cwd (which honours NODE_PATH).  Install it with
//   npm install --ignore-scripts --prefix DIR onnxruntime-node@1.30.0
// (--ignore-scripts is fine: the CPU binding ships inside the npm package
// under bin/napi-v6/linux/x64/; the install script only fetches GPU EPs).
//
// Node has no protobuf library, so TensorProto is read and written by hand
// below; only the fields needed for dense tensors are handled.

'use strict';

const fs = require('fs');
const path = require('path');

function loadOrt() {
  const repoRoot = path.resolve(__dirname, '..', '..');
  const bases = [process.env.ORT_NODE_DIR, path.join(repoRoot, 'build', 'ort'),
                 __dirname, process.cwd()].filter(Boolean);
  for (const b of bases) {
    try {
      return require(require.resolve('onnxruntime-node', { paths: [path.resolve(b)] }));
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') throw e;  // found but broken: say so
    }
  }
  try {
    return require('onnxruntime-node');  // NODE_PATH / global
  } catch (e) {
    console.error('onnxruntime-node not found; set ORT_NODE_DIR to a directory containing ' +
                  'node_modules/onnxruntime-node (tried: ' + bases.join(', ') + ')');
    process.exit(2);
  }
}

// ---------------------------------------------------------------------------
// TensorProto (onnx.proto) subset
//   1 dims repeated int64   2 data_type int32   4 float_data packed float
//   5 int32_data packed     7 int64_data packed 8 name string   9 raw_data bytes
//  10 double_data packed   11 uint64_data packed
// ---------------------------------------------------------------------------

// ONNX TensorProto.DataType <-> onnxruntime-node tensor type strings.
const DTYPES = {
  1: ['float32', Float32Array], 2: ['uint8', Uint8Array], 3: ['int8', Int8Array],
  4: ['uint16', Uint16Array], 5: ['int16', Int16Array], 6: ['int32', Int32Array],
  7: ['int64', BigInt64Array], 9: ['bool', Uint8Array], 10: ['float16', Uint16Array],
  11: ['float64', Float64Array], 12: ['uint32', Uint32Array], 13: ['uint64', BigUint64Array],
};
const ORT_TO_ONNX = {};
for (const [k, [t]] of Object.entries(DTYPES)) ORT_TO_ONNX[t] = Number(k);

class Reader {
  constructor(buf) { this.buf = buf; this.pos = 0; }
  eof() { return this.pos >= this.buf.length; }
  varint() {  // as BigInt: int64 values need all 64 bits
    let result = 0n, shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
    }
  }
  bytes() {
    const n = Number(this.varint());
    if (this.pos + n > this.buf.length) throw new Error('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wire) {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error('unsupported wire type ' + wire);
  }
}

// Copy into a fresh, aligned ArrayBuffer (subarrays of a file Buffer may be
// misaligned for Float32Array etc.).
function aligned(bytes) {
  const ab = new ArrayBuffer(bytes.length);
  new Uint8Array(ab).set(bytes);
  return ab;
}

function readTensorProto(buf) {
  const r = new Reader(buf);
  const t = { dims: [], dataType: 0, name: '', raw: null,
              floats: [], int32s: [], int64s: [], doubles: [], uint64s: [] };
  while (!r.eof()) {
    const key = Number(r.varint());
    const field = key >>> 3, wire = key & 7;
    // Repeated scalar fields may come packed (wire 2) or not.
    const repeated = (dst, fixed, decode) => {
      if (wire === 2) {
        const sub = r.bytes();
        if (fixed) {
          const view = new DataView(sub.buffer, sub.byteOffset, sub.byteLength);
          for (let i = 0; i < sub.length; i += fixed) dst.push(decode(view, i));
        } else {
          const sr = new Reader(sub);
          while (!sr.eof()) dst.push(decode(sr.varint()));
        }
      } else if (fixed) {
        const view = new DataView(r.buf.buffer, r.buf.byteOffset + r.pos, fixed);
        dst.push(decode(view, 0));
        r.pos += fixed;
      } else {
        dst.push(decode(r.varint()));
      }
    };
    switch (field) {
      case 1: repeated(t.dims, 0, (v) => Number(BigInt.asIntN(64, v))); break;
      case 2: t.dataType = Number(r.varint()); break;
      case 4: repeated(t.floats, 4, (dv, i) => dv.getFloat32(i, true)); break;
      case 5: repeated(t.int32s, 0, (v) => Number(BigInt.asIntN(32, v))); break;
      case 7: repeated(t.int64s, 0, (v) => BigInt.asIntN(64, v)); break;
      case 8: t.name = r.bytes().toString('utf8'); break;
      case 9: t.raw = r.bytes(); break;
      case 10: repeated(t.doubles, 8, (dv, i) => dv.getFloat64(i, true)); break;
      case 11: repeated(t.uint64s, 0, (v) => BigInt.asUintN(64, v)); break;
      default: r.skip(wire);
    }
  }
  if (!DTYPES[t.dataType]) throw new Error('unsupported TensorProto data_type ' + t.dataType);
  const [type, Arr] = DTYPES[t.dataType];
  let data;
  if (t.raw) {
    data = new Arr(aligned(t.raw));  // raw_data is little-endian, as is x86/arm
  } else {
    // Typed fields: float -> float_data; 64-bit ints -> int64/uint64_data;
    // double -> double_data; every narrower type -> int32_data.
    const src = { 1: t.floats, 7: t.int64s, 11: t.doubles, 13: t.uint64s }[t.dataType] || t.int32s;
    data = Arr.from(src);
  }
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (data.length !== count) {
    throw new Error(`tensor ${t.name}: ${data.length} elements, dims ${t.dims} need ${count}`);
  }
  return { name: t.name, type, dims: t.dims, data };
}

class Writer {
  constructor() { this.parts = []; }
  varint(v) {  // v: BigInt or Number; negatives as 64-bit two's complement
    let x = BigInt.asUintN(64, BigInt(v));
    const out = [];
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x) b |= 0x80;
      out.push(b);
    } while (x);
    this.parts.push(Buffer.from(out));
  }
  key(field, wire) { this.varint((field << 3) | wire); }
  bytes(field, buf) { this.key(field, 2); this.varint(buf.length); this.parts.push(buf); }
  finish() { return Buffer.concat(this.parts); }
}

// Same field order as protobuf's own serialiser (ascending field number);
// dims unpacked as proto2 (onnx.proto) does by default.
function writeTensorProto(name, ortTensor) {
  const dataType = ORT_TO_ONNX[ortTensor.type];
  if (!dataType) throw new Error('unsupported output type ' + ortTensor.type);
  const w = new Writer();
  for (const d of ortTensor.dims) { w.key(1, 0); w.varint(d); }
  w.key(2, 0); w.varint(dataType);
  w.bytes(8, Buffer.from(name, 'utf8'));
  const d = ortTensor.data;
  w.bytes(9, Buffer.from(d.buffer, d.byteOffset, d.byteLength));
  return w.finish();
}

// ---------------------------------------------------------------------------

async function runCase(ort, caseDir) {
  const modelPath = path.join(caseDir, 'model.onnx');
  const t0 = Date.now();
  const session = await ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
  });
  const tLoad = (Date.now() - t0) / 1000;

  const sets = fs.readdirSync(caseDir)
    .filter((d) => d.startsWith('test_data_set_') && fs.statSync(path.join(caseDir, d)).isDirectory())
    .sort();
  if (!sets.length) throw new Error(caseDir + ': no test_data_set_* directory');

  let tRun = 0;
  for (const set of sets) {
    const dir = path.join(caseDir, set);
    const inputFiles = fs.readdirSync(dir).filter((f) => /^input_\d+\.pb$/.test(f))
      .sort((a, b) => parseInt(a.slice(6), 10) - parseInt(b.slice(6), 10));
    const feeds = {};
    inputFiles.forEach((f, k) => {
      const t = readTensorProto(fs.readFileSync(path.join(dir, f)));
      // Bind by name when it matches a graph input, else by position.
      const name = session.inputNames.includes(t.name) ? t.name : session.inputNames[k];
      feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    });
    const t1 = Date.now();
    const results = await session.run(feeds);
    tRun += (Date.now() - t1) / 1000;
    session.outputNames.forEach((name, k) => {
      fs.writeFileSync(path.join(dir, `output_${k}.pb`), writeTensorProto(name, results[name]));
    });
  }
  await session.release();
  console.log(`${path.basename(path.resolve(caseDir)).padEnd(20)} load ${tLoad.toFixed(2)} s  ` +
              `run ${tRun.toFixed(2)} s  (${sets.length} data set(s))`);
}

async function main() {
  const dirs = process.argv.slice(2);
  if (!dirs.length) {
    console.error('usage: node ort_reference.js CASEDIR...');
    process.exit(2);
  }
  const ort = loadOrt();
  let failed = 0;
  for (const d of dirs) {
    try {
      await runCase(ort, d);
    } catch (e) {
      failed++;
      console.error(`${d}: ${e.stack || e}`);
    }
  }
  process.exit(failed ? 1 : 0);
}

main();
