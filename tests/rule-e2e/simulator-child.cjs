'use strict';
// Child process that hosts @simulacrum/auth0-simulator for harness.cjs.
//
// It is started by harness.cjs with child_process.fork(), so it has an IPC
// channel. The parent sets, before this process starts:
//   - HOME to a temporary directory holding .simulacrum/certs/localhost.pem and
//     localhost-key.pem. The foundation simulator computes that path from
//     os.homedir() when its module is first loaded, so HOME has to be right
//     before the require below. (Doing it in the parent process would point the
//     parent's HOME at a temp dir too; a child keeps that contained.)
//   - NODE_EXTRA_CA_CERTS to the same self-signed certificate, so HTTPS calls
//     made from this process (for example by a rule) trust the simulator.
//   - cwd to a temporary directory. Two reasons: options.rulesDirectory is
//     resolved against process.cwd(), and the simulator looks for a
//     cosmiconfig "auth0Simulator" config (package.json key, .auth0Simulatorrc,
//     ...) in the cwd, which must not pick up anything from the project.
//   - SIMULATOR_CONFIG: JSON { options, initialState } for simulation().
//   - SIMULATOR_TMP: the temporary directory holding HOME and cwd; removed here
//     only if the parent vanished (normally the parent removes it after close).
//
// Protocol: once listening it sends { type: 'ready', port } to the parent; on
// { type: 'close' } it closes the server and exits. If the IPC channel goes
// away (parent died or was killed) it exits as well, so it never outlives the
// test run.

const config = JSON.parse(process.env.SIMULATOR_CONFIG || '{}');

let simulator;
try {
  simulator = require('@simulacrum/auth0-simulator');
} catch (err) {
  process.send({ type: 'error', message: `cannot load simulator: ${err && err.stack}` });
  process.exit(1);
}

let running = null;

async function main() {
  const app = simulator.simulation({
    options: config.options,
    initialState: config.initialState,
  });
  // options.port is validated to 3000..9999 by the simulator's zod schema, so
  // port 0 cannot go through options; listen() passes its arguments straight
  // to https.Server#listen, which accepts (0, host) for a free port.
  running = await app.listen(0, '127.0.0.1');
  process.send({ type: 'ready', port: running.port });
}

async function shutdown(code) {
  try {
    if (running) await running.ensureClose();
  } catch (_) {
    // closing best-effort; exiting anyway
  }
  process.exit(code);
}

process.on('message', (msg) => {
  if (msg && msg.type === 'close') shutdown(0);
});
process.on('disconnect', () => {
  if (process.env.SIMULATOR_TMP) {
    try {
      process.chdir(require('node:os').tmpdir());
      require('node:fs').rmSync(process.env.SIMULATOR_TMP, { recursive: true, force: true });
    } catch (_) {
      // best effort
    }
  }
  shutdown(0);
});

main().catch((err) => {
  process.send({ type: 'error', message: String((err && err.stack) || err) });
  shutdown(1);
});
