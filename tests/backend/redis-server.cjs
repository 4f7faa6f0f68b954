'use strict';
// A real redis-server on loopback for the tests that share state across processes:
// started on a free port with persistence off, and stopped (or killed, to test an
// outage) by the test that started it. The set-up script installs Debian's
// redis-server when it is missing.

const { spawn } = require('node:child_process');
const net = require('node:net');

/** A port the kernel just handed out and released, for a server that cannot take 0. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts connections on the port. */
async function waitForPort(port, deadline) {
  for (;;) {
    const open = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port}`);
    await new Promise((resolve) => { setTimeout(resolve, 20); });
  }
}

/**
 * Starts redis-server (Debian's, on PATH) on 127.0.0.1. Resolves to { url, port, kill,
 * stop }: `kill()` is a crash (SIGKILL), `stop()` a clean shutdown; both wait for the exit.
 */
async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--logfile', '',
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const failed = new Promise((_, reject) => child.once('error', (error) => reject(new Error(`redis-server: ${error.message}`))));
  await Promise.race([waitForPort(port, Date.now() + 10000), failed]);
  const end = async (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return { url: `redis://127.0.0.1:${port}`, port, kill: () => end('SIGKILL'), stop: () => end('SIGTERM') };
}

module.exports = { startRedis };
