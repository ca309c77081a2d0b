#!/usr/bin/env node
// WebSocket echo server for the benchmark: a third-party implementation (the `ws`
// package from npm), so neither client is measured against itself.
//
//   node echo-server.js [PORT]     (default 0: pick a free port)
//
// Listens on 127.0.0.1, prints its port on the first line of stdout, echoes every data
// message back with its type (text stays text, binary stays binary), answers pings
// and close frames (ws does both by itself). Messages are echoed in order, and a close
// frame is answered only after every message before it was echoed, so a client that
// waits for the close reply has every echo. No permessage-deflate.
'use strict';

const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] || 0);
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: false,
  // The bulk workload sends one 16 MiB message; leave ample room.
  maxPayload: 256 * 1024 * 1024,
  clientTracking: false,
});

wss.on('listening', () => {
  process.stdout.write(`${wss.address().port}\n`);
});

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    ws.send(data, { binary: isBinary });
  });
  ws.on('error', () => {});
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => process.exit(0));
}
