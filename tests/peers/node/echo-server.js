#!/usr/bin/env node
// A Node `ws` WebSocket echo server for wsdbg's interop tests (tests/common/peers.rs).
//
//   node echo-server.js [--deflate]
//
// Listens on 127.0.0.1 on a port the OS picks and prints that port alone on the first
// line of stdout. Echoes every data message with its type (text stays text, binary stays
// binary); on /orders (and /orders-differ, whose second answer is "something else") it
// answers each JSON text {"q": X} with {"answer": X, "n": N, "id": a random id, "ts":
// the time}, id and ts changing from run to run; ws itself answers pings and close frames (a close is answered with the same
// code and reason). No permessage-deflate, unless --deflate: then it accepts the
// extension as `perMessageDeflate: true` does, with threshold 0 so every message it
// sends is compressed. Exits when its stdin reaches end of file, so it never outlives
// the test that started it.
'use strict';

const { WebSocketServer } = require('ws');

const deflate = process.argv.includes('--deflate');

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  perMessageDeflate: deflate ? { threshold: 0 } : false,
  maxPayload: 16 * 1024 * 1024,
  clientTracking: false,
});

wss.on('listening', () => {
  process.stdout.write(`${wss.address().port}\n`);
});

wss.on('connection', (ws, req) => {
  const orders = req.url === '/orders' || req.url === '/orders-differ';
  let n = 0;
  ws.on('message', (data, isBinary) => {
    if (!orders) {
      ws.send(data, { binary: isBinary });
      return;
    }
    n += 1;
    let q = null;
    try {
      q = JSON.parse(data.toString()).q;
    } catch (e) {
      q = null;
    }
    const answer = req.url === '/orders-differ' && n === 2 ? 'something else' : q;
    const id = require('crypto').randomBytes(8).toString('hex');
    ws.send(JSON.stringify({ answer, n, id, ts: Date.now() / 1000 }));
  });
  ws.on('error', () => {});
});

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
