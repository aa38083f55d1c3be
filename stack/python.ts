// The project's own Python environment (rule 2): a venv under the stack's state dir, created on first
// use with the machine's python3, and pip-installed with pinned versions. Nothing is installed by hand;
// a second call finds the packages there and returns at once.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDebianPackages } from './debian.ts';
import { stateDir } from './layout.ts';

export const venvDir = join(stateDir, 'venv');

function run(cmd: string, args: string[], what: string): void {
  const res = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (res.status !== 0) {
    throw new Error(`${what} failed (${cmd} ${args.join(' ')} exited ${res.status ?? res.signal})`);
  }
}

/**
 * Makes sure `packages` ("name==version") are installed in the project venv and returns the path of
 * its bin/ directory. `log` gets one progress line per step that does work.
 */
export async function ensurePython(
  packages: string[],
  log: (s: string) => void = console.log,
): Promise<string> {
  const bin = join(venvDir, 'bin');
  if (!existsSync(join(bin, 'python'))) {
    // Debian's python3 keeps venv's pip bootstrap (ensurepip) in a package of its own.
    await ensureDebianPackages(
      [
        {
          pkg: 'python3-venv',
          purpose: 'a Python venv for the project',
          present: () => spawnSync('python3', ['-c', 'import ensurepip']).status === 0,
        },
      ],
      log,
    );
    log(`creating Python venv in ${venvDir}`);
    run(
      'python3',
      ['-m', 'venv', venvDir],
      'creating the Python venv (Debian: apt-get install python3-venv)',
    );
  }
  const marker = join(venvDir, 'voiceloop-installed.txt');
  const have = new Set(existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter(Boolean) : []);
  const missing = packages.filter((p) => !have.has(p));
  if (missing.length > 0) {
    log(`pip install ${missing.join(' ')} (into ${venvDir})`);
    run(
      join(bin, 'python'),
      ['-m', 'pip', 'install', '--disable-pip-version-check', '--progress-bar', 'off', '-q', ...missing],
      `installing ${missing.join(', ')}`,
    );
    writeFileSync(marker, [...have, ...missing].join('\n'));
  }
  return bin;
}
