#!/usr/bin/env node
// A Node `ws` CLIENT for wsdbg's tests of `wsdbg listen` (tests/listen_drive.rs).
//
//   node ws-client.js [--subprotocol NAME]... [--timeout SECS] URL
//
// Connects to URL (no permessage-deflate) and prints one JSON line per event on stdout,
// each with "event" first and "t" (seconds since start):
//
//   {"event":"open","status":101,"protocol":NAME|null,"headers":[[name,value],...]}
//   {"event":"message","type":"text","text":"..."}        (or "type":"binary","hex")
//   {"event":"sent","type":"text","text":"..."}           (a message we sent)
//   {"event":"pong","hex":"..."}                           (any pong that arrives)
//   {"event":"ping","hex":"..."}                           (ws answers it itself)
//   {"event":"rejected","status":401,"body":"..."}         (a refused upgrade)
//   {"event":"error","message":"...","code":"WS_ERR_..."}
//   {"event":"close","received":{"code","reason"}|null,"sent":{...}|null,"clean":bool}
//
// "received" and "sent" are the close frames that crossed the wire (from ws's own
// bookkeeping); "clean" is true when both did, whatever the codes. Each stdin line is a
// command, as in tests/py/ws_client.py: TEXT, /binary HEX, /ping [TEXT],
// /close CODE [REASON], /drop (TCP gone, no close frame), /wait N (N data messages
// received in all, at most 10 s), /sleep MS. The end of stdin changes nothing.
//
// Exit status: 0 the closing handshake completed, 3 it did not, 1 the handshake was
// refused or the connect failed, 4 the --timeout (default 20 s) ran out first.
'use strict';

const readline = require('readline');
const WebSocket = require('ws');

const start = process.hrtime.bigint();

function emit(event, fields) {
  const t = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(`${JSON.stringify({ event, t, ...fields })}\n`);
}

function finish(status) {
  // Let stdout drain before exiting.
  process.stdout.write('', () => process.exit(status));
}

const args = process.argv.slice(2);
const protocols = [];
let timeout = 20;
let url = null;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--subprotocol') protocols.push(args[++i]);
  else if (args[i] === '--timeout') timeout = Number(args[++i]);
  else url = args[i];
}
if (!url) {
  process.stderr.write('usage: ws-client.js [--subprotocol NAME]... [--timeout SECS] URL\n');
  process.exit(2);
}

setTimeout(() => {
  emit('error', { message: `timeout: still connected after ${timeout} s` });
  finish(4);
}, timeout * 1000).unref();

const ws = new WebSocket(url, protocols, { perMessageDeflate: false, maxPayload: 16 << 20 });
let opened = false;
let rejected = false;
let received = 0;
let sentClose = null;
let receivedClose = null;
const waiters = [];
const queue = [];
let busy = false;

let upgrade = { status: null, headers: [] };
ws.on('upgrade', (res) => {
  const headers = [];
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    headers.push([res.rawHeaders[i], res.rawHeaders[i + 1]]);
  }
  upgrade = { status: res.statusCode, headers };
});

ws.on('open', () => {
  opened = true;
  emit('open', { status: upgrade.status, protocol: ws.protocol || null, headers: upgrade.headers });
  pump();
});

ws.on('unexpected-response', (req, res) => {
  rejected = true;
  const chunks = [];
  res.on('data', (c) => chunks.push(c));
  res.on('end', () => {
    emit('rejected', { status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') });
    finish(1);
  });
  res.on('error', () => finish(1));
});

ws.on('message', (data, isBinary) => {
  received += 1;
  if (isBinary) emit('message', { type: 'binary', hex: Buffer.from(data).toString('hex') });
  else emit('message', { type: 'text', text: data.toString('utf8') });
  while (waiters.length && waiters[0].n <= received) waiters.shift().done();
});

ws.on('ping', (data) => emit('ping', { hex: data.toString('hex') }));
ws.on('pong', (data) => emit('pong', { hex: data.toString('hex') }));

ws.on('error', (err) => {
  if (rejected) return;
  emit('error', { message: String(err && err.message), code: err && err.code ? err.code : null });
  if (!opened) finish(1);
});

ws.on('close', (code, reason) => {
  if (!opened) return;
  // ws keeps what crossed the wire: a close frame received sets _closeFrameReceived and
  // the code (1005 when the frame had none); one sent, _closeFrameSent.
  if (ws._closeFrameReceived) {
    receivedClose = { code: code === 1005 ? null : code, reason: reason.toString('utf8') };
  }
  const clean = Boolean(ws._closeFrameReceived && ws._closeFrameSent);
  emit('close', {
    received: receivedClose,
    sent: ws._closeFrameSent ? sentClose : null,
    clean,
  });
  finish(clean ? 0 : 3);
});

// What our close frame said: every close goes through ws.close (ws answers a close frame
// by calling it with the same code and reason, and fails the connection through it too).
const origClose = ws.close.bind(ws);
ws.close = (code, reason) => {
  if (!ws._closeFrameSent && sentClose === null) {
    sentClose = { code: code === undefined ? null : code, reason: reason ? String(reason) : '' };
  }
  return origClose(code, reason);
};

function run(line) {
  if (!line.startsWith('/')) {
    ws.send(line);
    emit('sent', { type: 'text', text: line });
    return Promise.resolve();
  }
  const sp = line.indexOf(' ');
  const word = sp < 0 ? line : line.slice(0, sp);
  const rest = sp < 0 ? '' : line.slice(sp + 1);
  switch (word) {
    case '/binary': {
      const data = Buffer.from(rest.replace(/\s+/g, ''), 'hex');
      ws.send(data, { binary: true });
      emit('sent', { type: 'binary', hex: data.toString('hex') });
      return Promise.resolve();
    }
    case '/ping':
      ws.ping(rest);
      return Promise.resolve();
    case '/close': {
      const csp = rest.indexOf(' ');
      const code = Number(csp < 0 ? rest : rest.slice(0, csp));
      ws.close(code, csp < 0 ? '' : rest.slice(csp + 1));
      return Promise.resolve();
    }
    case '/drop':
      ws._socket.destroy();
      return Promise.resolve();
    case '/wait': {
      const n = Number(rest);
      if (received >= n) return Promise.resolve();
      return new Promise((done) => {
        const w = { n, done };
        waiters.push(w);
        setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) waiters.splice(i, 1);
          done();
        }, 10000);
      });
    }
    case '/sleep':
      return new Promise((done) => setTimeout(done, Number(rest)));
    default:
      emit('error', { message: `unknown command ${JSON.stringify(line)}` });
      return Promise.resolve();
  }
}

function pump() {
  if (busy || !opened) return;
  const line = queue.shift();
  if (line === undefined) return;
  busy = true;
  run(line).then(() => {
    busy = false;
    pump();
  });
}

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  queue.push(line);
  pump();
});
