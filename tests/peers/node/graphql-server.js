#!/usr/bin/env node
// A GraphQL over WebSocket server (npm `graphql-ws` 6 on `ws`, schema by `graphql`) for
// wsdbg's --proto tests: subprotocol graphql-transport-ws; `subscription { greetings }`
// yields "Hi", "Bonjour", "Hola" then completes; `query { hello }` answers "world".
// Listens on 127.0.0.1 on a port the OS picks, prints it alone on its first stdout
// line, exits at the end of stdin.
'use strict';

const { WebSocketServer } = require('ws');
const { useServer } = require('graphql-ws/use/ws');
const { GraphQLSchema, GraphQLObjectType, GraphQLString } = require('graphql');

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: 'Query',
    fields: { hello: { type: GraphQLString, resolve: () => 'world' } },
  }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      greetings: {
        type: GraphQLString,
        subscribe: async function* greetings() {
          for (const hi of ['Hi', 'Bonjour', 'Hola']) yield { greetings: hi };
        },
      },
    },
  }),
});

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/graphql' });
useServer({ schema }, wss);
wss.on('listening', () => process.stdout.write(`${wss.address().port}\n`));

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
