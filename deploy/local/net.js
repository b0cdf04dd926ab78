'use strict';
// Small network helpers shared by the local stack modules.
const net = require('node:net');

/** Asks the kernel for a port nobody listens on right now. */
function findFreePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Connects to host:port and resolves with the first chunk the server sends
 * (NATS greets with INFO), or '' when it accepts but stays silent.
 * Resolves null when nothing answers.
 */
function probeTcp(host, port, timeoutMs = 1500) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let greeting = '';
    const finish = (result) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => finish(greeting === '' ? '' : greeting));
    socket.once('error', () => finish(null));
    socket.on('data', (chunk) => {
      greeting += chunk.toString('utf8');
      if (greeting.includes('\n')) finish(greeting);
    });
  });
}

/** True once nothing accepts connections on host:port. */
async function isPortFree(host, port) {
  return (await probeTcp(host, port, 500)) === null;
}

module.exports = { findFreePort, probeTcp, isPortFree };
