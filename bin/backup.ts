// `npm run backup -- --out DIR`: a consistent backup of PostgreSQL (pg_dump, custom format), the audio
// objects, the registry's schemas and the compacted config topic, with a manifest (backup/backup.ts).
// Exit codes: 0 done, 1 failed (the folder then holds no manifest.json: not a usable backup), 2 bad flags.
import { runBackup } from '../backup/backup.ts';
import { ArgError, parseFlags, runMain } from '../lib/cli.ts';
import { createLogger } from '../lib/log.ts';
import { loadSettings } from '../lib/settings.ts';
import { checkKafkaCredentials } from '../runtime/kafkaCredentials.ts';
import { postgresProgram } from '../stack/services/postgres.ts';
import { AudioStore, createS3 } from '../storage/audioStore.ts';
import { createPool } from '../storage/db.ts';
import { createKafka } from '../streams/kafka.ts';

const USAGE = 'usage: npm run backup -- --out DIR   (DIR new or empty)';

async function main(argv: string[]): Promise<number> {
  const v = parseFlags(argv, { out: { type: 'string' } }, USAGE);
  if (typeof v.out !== 'string' || v.out === '') throw new ArgError(`--out is required\n${USAGE}`);
  const cfg = loadSettings(undefined, { logLevel: 'error' });
  await checkKafkaCredentials(cfg, 'maintenance');
  const log = createLogger(cfg.logLevel);
  const pool = createPool(cfg, log, 3);
  const s3 = createS3(cfg);
  try {
    const m = await runBackup(
      {
        cfg,
        pool,
        audio: new AudioStore(s3, cfg.s3.bucket),
        kafka: createKafka(cfg, log, 'maintenance'),
        pgDump: await postgresProgram('pg_dump', (s) => console.error(s)),
        log: (s) => console.error(`• ${s}`),
      },
      v.out,
    );
    const rows = Object.values(m.postgres.rows).reduce((a, b) => a + b, 0);
    console.log(
      `backup in ${v.out}: recovery point ${m.recovery_point}; ${rows} rows, ${m.audio.objects} audio objects (${m.audio.bytes} bytes), ${m.registry.versions.length} schema versions, ${m.config.records} config records; ${m.seconds} s`,
    );
    return 0;
  } finally {
    await pool.end();
    s3.destroy();
  }
}

runMain(import.meta.url, main);
