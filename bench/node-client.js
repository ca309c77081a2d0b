#!/usr/bin/env node
// A compressing WebSocket client for the benchmark, used the way websocat -t is: Node
// `ws` with permessage-deflate offered (ws's default parameters) and every message
// compressed whatever its size (threshold 0; ws's default is 1024 bytes).
//
//   cat lines.txt | node node-client.js ws://127.0.0.1:PORT/
//
// Sends each stdin line (without its newline) as a text message while writing each
// received message and a newline to stdout (in 64 KiB batches); stdin is paused while
// more than 4096 messages or 1 MiB wait to be sent. At the end of stdin it closes (ws
// sends the close frame after every queued message) and exits once the close reply
// came: 0 when clean, 1 otherwise (ws gives up 30 s after its close frame). With
// WS_CLIENT_INFO=1 it writes the negotiated extensions to stderr.
'use strict';

const WebSocket = require('ws');

const url = process.argv[2];
if (!url) {
  process.stderr.write('usage: node-client.js ws://HOST:PORT/\n');
  process.exit(2);
}
const ws = new WebSocket(url, { perMessageDeflate: { threshold: 0 }, maxPayload: 0 });

let out = [];
let outBytes = 0;
function flushOut(cb) {
  if (out.length === 0) return cb && cb();
  const chunk = Buffer.concat(out, outBytes);
  out = [];
  outBytes = 0;
  if (!process.stdout.write(chunk) && !cb) {
    ws.pause();
    process.stdout.once('drain', () => ws.resume());
  }
  if (cb) process.stdout.write('', cb);
}

const NL = Buffer.from('\n');
ws.on('message', (data) => {
  out.push(data, NL);
  outBytes += data.length + 1;
  if (outBytes >= 1 << 16) flushOut();
});

let pending = 0;
let rest = Buffer.alloc(0);
function sent() {
  pending -= 1;
  if (pending <= 1024 && process.stdin.isPaused()) process.stdin.resume();
}

ws.on('open', () => {
  if (process.env.WS_CLIENT_INFO) process.stderr.write(`extensions: ${ws.extensions || 'none'}\n`);
  process.stdin.on('data', (chunk) => {
    const buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
    let start = 0;
    let nl;
    while ((nl = buf.indexOf(10, start)) !== -1) {
      pending += 1;
      ws.send(buf.subarray(start, nl), { binary: false }, sent);
      start = nl + 1;
    }
    rest = Buffer.from(buf.subarray(start));
    if (ws.bufferedAmount > 1 << 20 || pending > 4096) process.stdin.pause();
  });
  process.stdin.on('end', () => {
    if (rest.length) ws.send(rest, { binary: false });
    ws.close(1000);
  });
});

ws.on('close', (code) => {
  flushOut(() => process.exit(code === 1000 ? 0 : 1));
});
ws.on('error', (e) => {
  process.stderr.write(`node-client: ${e.message}\n`);
  process.exit(1);
});
