#!/usr/bin/env node
// Plain TCP echo on 127.0.0.1, the ceiling for the benchmark: the same bytes through the
// same loopback and the same Node event loop, with no WebSocket framing or masking.
//
//   node tcp-echo.js [PORT]     (default 0: pick a free port; printed on stdout)
'use strict';

const net = require('net');

const port = Number(process.argv[2] || 0);
const server = net.createServer((sock) => {
  sock.setNoDelay(true);
  // pipe() honours backpressure and ends our side when the client ends its side.
  sock.pipe(sock);
  sock.on('error', () => {});
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => process.exit(0));
}
