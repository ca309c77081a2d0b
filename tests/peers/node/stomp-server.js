#!/usr/bin/env node
// A STOMP broker over WebSocket (npm `stomp-broker-js` 1.3, STOMP 1.1) for wsdbg's
// --proto tests, at path /stomp; it answers CONNECT with CONNECTED, and delivers what is
// SENT to a destination to its subscribers as MESSAGE frames. `--heartbeat X,Y`: the
// heart-beats it offers (X: it sends every X ms; Y: it wants one every Y ms, and drops
// a client silent longer than that plus 1 s); default 0,0. Listens on 127.0.0.1 on a
// port the OS picks, prints it alone on its first stdout line, exits at the end of stdin.
'use strict';

const http = require('http');
const StompServer = require('stomp-broker-js');

const server = http.createServer();
// eslint-disable-next-line no-new
const i = process.argv.indexOf('--heartbeat');
const heartbeat = i > 0 ? process.argv[i + 1].split(',').map(Number) : [0, 0];
new StompServer({ server, path: '/stomp', heartbeat });
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
