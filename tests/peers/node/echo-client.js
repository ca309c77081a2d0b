#!/usr/bin/env node
// A Node `ws` client for wsdbg's interop tests (tests/common/peers.rs): it sends messages
// to an echo server (`wsdbg listen`) and checks that each echo comes back equal.
//
//   node echo-client.js URL [--deflate] [--count N]
//
// --deflate offers permessage-deflate (`perMessageDeflate: true` with threshold 0, so
// every message is compressed when it is agreed); without it, no extension is offered.
// Sends N messages (default 20) one at a time, alternating a JSON-like text of about
// 200 bytes and a binary one of 256 bytes, and waits for each echo before sending the
// next; then closes with 1000.
//
// Prints one JSON object on stdout:
//   {"extensions": the Sec-WebSocket-Extensions agreed (ws.extensions) or "",
//    "sent": N, "equal": how many echoes were equal, "mismatches": [...],
//    "close_code": the close code received}
// Exits 0 when every echo was equal, 1 otherwise, 2 on an error or after 10 s.
'use strict';

const WebSocket = require('ws');

const args = process.argv.slice(2);
const url = args.find((a) => !a.startsWith('--'));
const deflate = args.includes('--deflate');
const countAt = args.indexOf('--count');
const count = countAt >= 0 ? Number(args[countAt + 1]) : 20;

const out = { extensions: '', sent: 0, equal: 0, mismatches: [], close_code: null };

function finish(code, error) {
  if (error) out.error = String(error);
  process.stdout.write(`${JSON.stringify(out)}\n`, () => process.exit(code));
}

setTimeout(() => finish(2, 'not done within 10 s'), 10000).unref();

function message(i) {
  if (i % 2 === 0) {
    return JSON.stringify({
      id: i,
      kind: 'order',
      customer: { name: `customer ${i % 7}`, country: 'NL' },
      items: [{ sku: `sku-${String((i * 37) % 1000).padStart(4, '0')}`, qty: (i % 5) + 1 }],
      note: 'the quick brown fox jumps over the lazy dog',
    });
  }
  const b = Buffer.alloc(256);
  for (let k = 0; k < 256; k++) b[k] = (i * 7 + k * 13) % 256;
  return b;
}

const ws = new WebSocket(url, {
  perMessageDeflate: deflate ? { threshold: 0 } : false,
  maxPayload: 16 * 1024 * 1024,
});

let i = 0;
let sent = null;

function sendNext() {
  if (i >= count) {
    ws.close(1000);
    return;
  }
  sent = message(i);
  ws.send(sent, { binary: typeof sent !== 'string' });
  out.sent += 1;
  i += 1;
}

ws.on('open', () => {
  out.extensions = ws.extensions;
  sendNext();
});

ws.on('message', (data, isBinary) => {
  const want = typeof sent === 'string' ? Buffer.from(sent) : sent;
  const same = isBinary === (typeof sent !== 'string') && Buffer.compare(data, want) === 0;
  if (same) {
    out.equal += 1;
  } else if (out.mismatches.length < 5) {
    out.mismatches.push({ i: i - 1, binary: isBinary, got: data.toString('hex').slice(0, 80) });
  }
  sendNext();
});

ws.on('close', (code) => {
  out.close_code = code;
  finish(out.equal === count && out.sent === count ? 0 : 1);
});

ws.on('error', (e) => finish(2, e));
