// Writes a benchmark's results to bench/results/<name>.json (git-ignored), with what
// makes them comparable between runs: when, from which build, on which machine.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS_DIR = join(ROOT, 'bench', 'results');

/** The commit, and whether anything the build reads was changed since. */
function gitState() {
  try {
    const git = (args) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = git(['status', '--porcelain', '--', 'src', 'js-shim', 'rules', 'scripts', 'Cargo.toml', 'Cargo.lock']);
    return { commit: git(['rev-parse', 'HEAD']), buildInputsModified: dirty.length > 0 };
  } catch {
    return null;
  }
}

/** Writes `fields` with the date, git state and environment; returns the path written. */
export function writeResults(name, fields) {
  const path = join(RESULTS_DIR, `${name}.json`);
  const record = {
    benchmark: name,
    date: new Date().toISOString(),
    git: gitState(),
    environment: {
      node: process.version,
      v8: process.versions.v8,
      platform: process.platform,
      arch: process.arch,
      cpu: os.cpus()[0]?.model ?? null,
      cpus: os.cpus().length,
    },
    ...fields,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(path, `${JSON.stringify(record, null, 2)}\n`);
  console.log(`\nwrote ${relative(ROOT, path)}`);
  return path;
}
