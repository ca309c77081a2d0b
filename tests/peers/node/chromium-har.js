#!/usr/bin/env node
// Debian's Chromium, driven by playwright-core, saves a real browser HAR of a WebSocket
// session, for wsdbg's replay test (tests/replay.rs).
//
//   node chromium-har.js WS_URL HAR_PATH
//
// Opens a page (served from 127.0.0.1 by this script, so that the socket goes from a
// local page to a local server, as Chromium's local network access rules allow) whose
// script connects to WS_URL, sends the text "hello from
// chromium", a JSON text and the binary bytes 00 01 02 ff, one at a time, each after the
// echo of the one before, then closes with 1000; the context records a HAR with
// `content: 'embed'` (so the messages are in `_webSocketMessages`) and writes it on close.
// Prints what the page received as JSON on stdout. Chromium: $CHROMIUM or
// /usr/bin/chromium, headless, with the flags this machine's closed network needs.
'use strict';

const http = require('http');
const { chromium } = require('playwright-core');

const [url, harPath] = process.argv.slice(2);
if (!url || !harPath) {
  console.error('usage: chromium-har.js WS_URL HAR_PATH');
  process.exit(2);
}

(async () => {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><title>wsdbg</title><p>wsdbg replay test</p>');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const page_url = `http://127.0.0.1:${server.address().port}/`;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 30000,
  });
  const context = await browser.newContext({ recordHar: { path: harPath, content: 'embed' } });
  const page = await context.newPage();
  await page.goto(page_url);
  const got = await page.evaluate(
    (u) =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(u);
        ws.binaryType = 'arraybuffer';
        const out = [];
        const sends = ['hello from chromium', JSON.stringify({ q: 'tea', n: 1 }), new Uint8Array([0, 1, 2, 255])];
        let i = 0;
        ws.onopen = () => ws.send(sends[i++]);
        ws.onmessage = (ev) => {
          out.push(typeof ev.data === 'string' ? ev.data : Array.from(new Uint8Array(ev.data)));
          if (i < sends.length) ws.send(sends[i++]);
          else ws.close(1000, 'done');
        };
        ws.onclose = (ev) => resolve({ received: out, code: ev.code });
        ws.onerror = () => reject(new Error('websocket error'));
        setTimeout(() => reject(new Error('timed out')), 10000);
      }),
    url,
  );
  console.log(JSON.stringify(got));
  await page.close();
  await context.close();
  await browser.close();
  server.close();
})().catch((e) => {
  console.error(`chromium-har.js: ${e.message}`);
  process.exit(1);
});
