// Debian packages the program needs beyond Node (PostgreSQL, the speech prompts, ffmpeg, the
// recognizer, the synthesizer, ...): installed by the program itself on first use, the way the
// stack fetches its jars, so `npm ci && npm run demo` and `npm test` work on a fresh machine.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { executableDirs } from '../lib/settings.ts';
import { withLock } from './lock.ts';
import { run } from './proc.ts';
import { type Log, timed } from './service.ts';

/** One package and how to tell it is already there (a file it installs, a command on PATH). */
export interface DebianNeed {
  pkg: string;
  /** True when what the program uses from the package is present. */
  present(): boolean;
  /** Said in the progress line: what the package is for. */
  purpose: string;
}

/** A need satisfied by a path that exists once the package is installed. */
export function pathNeed(pkg: string, path: string, purpose: string): DebianNeed {
  return { pkg, purpose, present: () => existsSync(path) };
}

/** A need satisfied by an executable on PATH. */
export function commandNeed(pkg: string, command: string, purpose: string): DebianNeed {
  return { pkg, purpose, present: () => onPath(command) };
}

export function onPath(command: string): boolean {
  for (const dir of executableDirs()) {
    if (dir && existsSync(join(dir, command))) return true;
  }
  return false;
}

// Concurrent installers (two test files, two evals, two checkouts) take turns on a lock of our own:
// apt's `DPkg::Lock::Timeout` waits for dpkg's lock but not for the package lists' lock, so a second
// `apt-get update` failed at once with "Could not get lock /var/lib/apt/lists/lock" (seen: two evals
// started together, one fell back to synthetic speech). The timeout stays for anyone else's apt.
const lockWait = ['-o', 'DPkg::Lock::Timeout=600'];
const aptLockFile = '/var/lib/voiceloop/apt-get.lock';
const aptLockTimeoutMs = 15 * 60 * 1000;
const listsDir = '/var/lib/apt/lists';
const dayMs = 24 * 3600 * 1000;

/** Package lists are missing or older than a day: `apt-get install` would not find new names. */
function listsStale(): boolean {
  try {
    const lists = readdirSync(listsDir).filter((f) => f.endsWith('_Packages'));
    if (lists.length === 0) return true;
    const newest = Math.max(...lists.map((f) => statSync(join(listsDir, f)).mtimeMs));
    return Date.now() - newest > dayMs;
  } catch {
    return true;
  }
}

let inFlight: Promise<void> = Promise.resolve();

/**
 * Installs whichever of `needs` is missing, in one apt-get call, with a progress line naming what
 * and why. Without root it throws one line saying what to install. Calls are serialised within a
 * process; apt's lock serialises processes.
 */
export function ensureDebianPackages(needs: DebianNeed[], log: Log): Promise<void> {
  const next = inFlight.then(() => install(needs, log));
  inFlight = next.catch(() => undefined);
  return next;
}

async function install(needs: DebianNeed[], log: Log): Promise<void> {
  if (needs.every((n) => n.present())) return;
  if (process.getuid?.() !== 0) return installMissing(needs, log);
  // Whoever held the lock before may have installed what is missing here.
  await withLock(
    aptLockFile,
    log,
    aptLockTimeoutMs,
    () => installMissing(needs, log),
    'installing Debian packages',
  );
}

async function installMissing(needs: DebianNeed[], log: Log): Promise<void> {
  const missing = needs.filter((n) => !n.present());
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((n) => n.pkg))];
  const what = missing.map((n) => `${n.pkg} (${n.purpose})`).join(', ');
  if (process.getuid?.() !== 0) {
    throw new Error(`missing Debian packages: ${what}; install them: apt-get install ${pkgs.join(' ')}`);
  }
  log(`installing Debian packages: ${what} ...`);
  await timed(log, `installed ${pkgs.join(' ')} with apt-get`, async () => {
    const env = { DEBIAN_FRONTEND: 'noninteractive' };
    if (listsStale()) await run('apt-get', [...lockWait, 'update', '-q'], { cwd: '/', env });
    await run('apt-get', [...lockWait, 'install', '-y', '-q', '--no-install-recommends', ...pkgs], {
      cwd: '/',
      env,
    });
  });
  const still = missing.filter((n) => !n.present());
  if (still.length > 0) {
    throw new Error(
      `apt-get installed ${pkgs.join(' ')} but ${still.map((n) => n.pkg).join(', ')} is still not usable`,
    );
  }
}
