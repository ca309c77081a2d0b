#!/usr/bin/env node
// WebSocket echo server for the benchmark: a third-party implementation (the `ws`
// package from npm), so neither client is measured against itself.
//
//   node echo-server.js [--deflate] [PORT]     (default 0: pick a free port)
//
// Listens on 127.0.0.1, prints its port on the first line of stdout, echoes every data
// message back with its type (text stays text, binary stays binary), answers pings
// and close frames (ws does both by itself). Messages are echoed in order, and a close
// frame is answered only after every message before it was echoed, so a client that
// waits for the close reply has every echo. No permessage-deflate, unless --deflate:
// then it is accepted when offered (ws's defaults for the parameters) and every message
// is compressed whatever its size (threshold 0; ws's default threshold is 1024 bytes),
// and each connection's end writes one line to stderr: the negotiated extension, the
// messages echoed and the bytes read and written on the socket.
'use strict';

const { WebSocketServer } = require('ws');

const args = process.argv.slice(2);
const deflate = args.includes('--deflate');
const port = Number(args.filter((a) => a !== '--deflate')[0] || 0);
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: deflate ? { threshold: 0 } : false,
  // The bulk workload sends one 16 MiB message; leave ample room.
  maxPayload: 256 * 1024 * 1024,
  clientTracking: false,
});

wss.on('listening', () => {
  process.stdout.write(`${wss.address().port}\n`);
});

wss.on('connection', (ws) => {
  let n = 0;
  const sock = ws._socket;
  ws.on('message', (data, isBinary) => {
    ws.send(data, { binary: isBinary });
    n += 1;
  });
  ws.on('error', () => {});
  if (deflate) {
    ws.on('close', () => {
      process.stderr.write(`connection: extensions: ${ws.extensions || 'none'}; ${n} messages echoed; ` +
        `socket read ${sock.bytesRead} B, wrote ${sock.bytesWritten} B\n`);
    });
  }
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => process.exit(0));
}
