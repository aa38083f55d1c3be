// Fetching the Java servers from Maven Central through stack/pom.xml. Maven runs only when the
// target folder lacks a marker naming the wanted version and the pom it was resolved with (an
// edited pom can change the jar set); ~/.m2 makes a refetch cheap anyway.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pomFile } from './layout.ts';
import { run } from './proc.ts';

const markerName = '.voiceloop-version';
const pomHash = createHash('sha256').update(readFileSync(pomFile)).digest('hex').slice(0, 12);
const stamp = (version: string) => `${version} pom:${pomHash}`;

export function hasMarker(dir: string, version: string): boolean {
  const marker = join(dir, markerName);
  return existsSync(marker) && readFileSync(marker, 'utf8').trim() === stamp(version);
}

export function writeMarker(dir: string, version: string): void {
  writeFileSync(join(dir, markerName), `${stamp(version)}\n`);
}

// Maven 3.8 has no lock on the local repository: two runs fetching the same artifact can leave a
// torn jar behind. Serialise our runs; they are quick once ~/.m2 is warm.
let queue: Promise<unknown> = Promise.resolve();

function serial<T>(task: () => Promise<T>): Promise<T> {
  const next = queue.then(task, task);
  queue = next.catch(() => {});
  return next;
}

/**
 * Copies a pom profile's dependencies (with transitive ones) into `dir`, replacing what was there.
 * The version is passed as `-D<profile>.version`, so layout.ts stays the one place to change it.
 * `-q` keeps Maven quiet; its errors still reach the thrown message.
 */
export function copyProfileDependencies(profile: string, dir: string, version: string): Promise<void> {
  return fetchInto(dir, version, [
    `-P${profile}`,
    `-D${profile}.version=${version}`,
    'dependency:copy-dependencies',
    `-DoutputDirectory=${dir}`,
  ]);
}

/** Copies one artifact (`group:artifact:version:type:classifier`) into `dir`, without its dependencies. */
export function copyArtifact(coordinates: string, dir: string, version: string): Promise<void> {
  return fetchInto(dir, version, [
    'dependency:copy',
    `-Dartifact=${coordinates}`,
    `-DoutputDirectory=${dir}`,
  ]);
}

function fetchInto(dir: string, version: string, goals: string[]): Promise<void> {
  return serial(async () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    await run('mvn', ['-B', '-q', '-Dstyle.color=never', '-f', pomFile, ...goals], { cwd: dir });
    writeMarker(dir, version);
  });
}
