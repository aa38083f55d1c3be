// The backup's manifest (backup/backup.ts writes it, backup/restore.ts checks it first): what is in the
// folder, with counts and a sha256 per file, so a restore refuses a damaged or partial backup before
// it writes anything.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VoiceloopError } from '../lib/errors.ts';

export const MANIFEST_FORMAT = 'voiceloop-backup/1';

export interface BackupManifest {
  format: typeof MANIFEST_FORMAT;
  created_at: string;
  /** The database snapshot's time: everything committed before it is in the backup. */
  recovery_point: string;
  topic_prefix: string;
  bucket: string;
  postgres: { file: string; rows: Record<string, number> };
  audio: { objects: number; bytes: number; list: { key: string; sha256: string; size: number }[] };
  registry: { file: string; versions: { subject: string; version: number; id: number }[] };
  config: { file: string; topic: string; records: number };
  files: Record<string, { bytes: number; sha256: string }>;
  seconds: number;
}

export function fileSha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/** Reads the manifest and checks every file it lists; the first problem found is the error. */
export async function readVerified(dir: string): Promise<BackupManifest> {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path))
    throw new VoiceloopError('VALIDATION', `${dir} holds no manifest.json: not a backup folder`);
  let m: BackupManifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as BackupManifest;
  } catch (err) {
    throw new VoiceloopError('VALIDATION', `${path} is not JSON: ${(err as Error).message}`);
  }
  if (m.format !== MANIFEST_FORMAT)
    throw new VoiceloopError(
      'VALIDATION',
      `${path}: format ${String(m.format)}, expected ${MANIFEST_FORMAT}`,
    );
  for (const [f, want] of Object.entries(m.files)) {
    const p = join(dir, f);
    if (!existsSync(p)) throw new VoiceloopError('VALIDATION', `backup file ${f} is missing`);
    const got = await fileSha256(p);
    if (got !== want.sha256)
      throw new VoiceloopError(
        'VALIDATION',
        `backup file ${f} is damaged: sha256 ${got}, manifest says ${want.sha256}`,
      );
  }
  return m;
}
