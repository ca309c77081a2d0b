#!/usr/bin/env node
// A Node `ws` server for wsdbg's session-engine tests (tests/engine_interop.rs, issue 15):
// servers whose timing a script must not race. What it does depends on the path:
//
//   /greet   send "welcome" on connect, then echo
//   /slow    echo each message 300 ms after it arrived, one at a time: a message that
//            arrives while an echo is pending waits for it (10 messages take 3 s)
//   /ack     answer each message M at once with "ack M", then 400 ms later "result M"
//   other    echo
//
//   node engine-server.js
//
// Listens on 127.0.0.1 on a port the OS picks and prints that port alone on the first
// line of stdout. No permessage-deflate. Exits when its stdin reaches end of file, so it
// never outlives the test that started it.
'use strict';

const { WebSocketServer } = require('ws');

const SLOW_MS = 300;
const RESULT_MS = 400;

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  perMessageDeflate: false,
  clientTracking: false,
});

wss.on('listening', () => {
  process.stdout.write(`${wss.address().port}\n`);
});

function text(data, isBinary) {
  return isBinary ? Buffer.from(data).toString('hex') : data.toString();
}

wss.on('connection', (ws, req) => {
  const path = (req.url || '/').split('?')[0];
  ws.on('error', () => {});
  if (path === '/greet') {
    ws.send('welcome');
  }
  if (path === '/slow') {
    // One at a time: each echo is sent SLOW_MS after the later of its arrival and the
    // previous echo.
    let last = Promise.resolve();
    ws.on('message', (data, isBinary) => {
      last = last.then(
        () =>
          new Promise((done) => {
            setTimeout(() => {
              if (ws.readyState === ws.OPEN) ws.send(data, { binary: isBinary });
              done();
            }, SLOW_MS);
          }),
      );
    });
  } else if (path === '/ack') {
    ws.on('message', (data, isBinary) => {
      const t = text(data, isBinary);
      ws.send(`ack ${t}`);
      setTimeout(() => {
        if (ws.readyState === ws.OPEN) ws.send(`result ${t}`);
      }, RESULT_MS);
    });
  } else {
    ws.on('message', (data, isBinary) => {
      ws.send(data, { binary: isBinary });
    });
  }
});

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
