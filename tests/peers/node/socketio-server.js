#!/usr/bin/env node
// An npm `socket.io` server (Socket.IO v5 over Engine.IO v4) for wsdbg's --proto tests,
// pinging every second (pingTimeout 1 s), so a client that does not answer Engine.IO's
// ping is dropped within about 2 s. on "chat" DATA: emits "chat" {"echo": DATA}; on
// "ask" with an ack: answers ["answer", DATA]; on "upload" BYTES (a binary event):
// emits "got" with the byte count. Listens on 127.0.0.1 on a port the OS picks, prints
// it alone on its first stdout line, exits at the end of stdin.
'use strict';

const http = require('http');
const { Server } = require('socket.io');

const server = http.createServer();
const io = new Server(server, { pingInterval: 1000, pingTimeout: 1000, transports: ['websocket'] });

io.on('connection', (socket) => {
  socket.on('chat', (data) => socket.emit('chat', { echo: data }));
  socket.on('ask', (data, ack) => {
    if (typeof ack === 'function') ack('answer', data);
  });
  socket.on('upload', (data) => socket.emit('got', data.length));
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
