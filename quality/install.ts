// The sidecar's Python environment, installed by the project itself on first use (rule 2), the way the
// stack fetches its jars: a virtual environment under ~/.cache/voiceloop, keyed by the pinned
// requirements and the interpreter's version, made once and reused by every checkout on the machine.
// A marker written after pip succeeds tells a complete environment from one a crash left half-built.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { VoiceloopError } from '../lib/errors.ts';
import { ensureDebianPackages } from '../stack/debian.ts';
import { withLock } from '../stack/lock.ts';
import { run } from '../stack/proc.ts';

export const requirementsFile = join(import.meta.dirname, 'requirements.txt');
export const sidecarScript = join(import.meta.dirname, 'sidecar.py');
export const defaultCacheDir = join(homedir(), '.cache', 'voiceloop');

const MARKER = '.voiceloop-ready';
// pip builds pesq from source (a C extension) and fetches numpy/scipy wheels: ~30 s here, minutes on
// a slow network. Another process installing the same environment is waited for this long.
const INSTALL_LOCK_TIMEOUT_MS = 15 * 60_000;

export interface PythonEnv {
  dir: string;
  python: string;
}

function sidecarError(message: string, cause?: unknown): VoiceloopError {
  return new VoiceloopError('SIDECAR', message, { canRetry: false, cause });
}

/** `python3 --version` as "3.11", or a one-line error when there is no python3 at all. */
async function pythonVersion(): Promise<string> {
  try {
    const out = await run('python3', ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], {
      cwd: '/',
    });
    return out.trim();
  } catch (err) {
    throw sidecarError(
      'PESQ/STOI sidecar: python3 not found (install Python 3: apt-get install python3 python3-venv)',
      err,
    );
  }
}

function canMakeVenv(): boolean {
  return spawnSync('python3', ['-c', 'import venv, ensurepip'], { stdio: 'ignore' }).status === 0;
}

/** Debian's python3 ships venv without ensurepip until python3-venv is installed; do that as root. */
async function ensureVenvModule(version: string, log: (line: string) => void): Promise<void> {
  if (canMakeVenv()) return;
  const purpose = 'a virtual environment for the PESQ/STOI sidecar';
  try {
    await ensureDebianPackages(
      [`python${version}-venv`, 'python3-venv'].map((pkg) => ({ pkg, purpose, present: canMakeVenv })),
      log,
    );
  } catch (err) {
    throw sidecarError(
      `PESQ/STOI sidecar: python3 cannot make a virtual environment (${String(err instanceof Error ? err.message : err)})`,
      err,
    );
  }
}

function envKey(version: string): string {
  const hash = createHash('sha256').update(readFileSync(requirementsFile)).update(version).digest('hex');
  return `py${version}-${hash.slice(0, 12)}`;
}

/**
 * The ready environment for the sidecar, installing it first when missing (one progress line, then
 * one when done). `cacheDir` defaults to ~/.cache/voiceloop; tests pass a temporary folder to watch a
 * fresh install.
 */
export async function ensurePythonEnv(
  log: (line: string) => void,
  cacheDir: string = defaultCacheDir,
): Promise<PythonEnv> {
  const version = await pythonVersion();
  const dir = join(cacheDir, 'python', envKey(version));
  const env = { dir, python: join(dir, 'bin', 'python') };
  if (existsSync(join(dir, MARKER))) return env;
  await withLock(
    `${dir}.lock`,
    log,
    INSTALL_LOCK_TIMEOUT_MS,
    async () => {
      // Whoever held the lock before may have finished the job.
      if (existsSync(join(dir, MARKER))) return;
      await ensureVenvModule(version, log);
      log(`PESQ/STOI sidecar: installing pesq, pystoi, numpy, scipy into ${dir} (once; about a minute)...`);
      const t0 = Date.now();
      rmSync(dir, { recursive: true, force: true });
      try {
        await run('python3', ['-m', 'venv', dir], { cwd: '/' });
        await run(
          env.python,
          ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', '--no-input', '-r', requirementsFile],
          { cwd: '/' },
        );
      } catch (err) {
        rmSync(dir, { recursive: true, force: true });
        const first = String(err instanceof Error ? err.message : err).split('\n')[0];
        throw sidecarError(
          `PESQ/STOI sidecar: installing ${requirementsFile} failed (pesq builds a C extension: needs gcc and Python headers): ${first}`,
          err,
        );
      }
      writeFileSync(join(dir, MARKER), `${new Date().toISOString()}\n`);
      log(`PESQ/STOI sidecar: installed in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    },
    'installing the PESQ/STOI sidecar',
  );
  return env;
}
