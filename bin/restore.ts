// `npm run restore -- --from DIR`: brings an empty stack (the settings' database, bucket, registry and
// topics) to a backup's state (backup/restore.ts). Refuses a damaged backup or a stack that is not
// empty before writing anything. Exit codes: 0 done, 1 failed, 2 bad flags or a refused backup/stack.
import { runRestore } from '../backup/restore.ts';
import { ArgError, parseFlags, runMain } from '../lib/cli.ts';
import { createLogger } from '../lib/log.ts';
import { loadSettings } from '../lib/settings.ts';
import { ensureBucket } from '../runtime/bootstrap.ts';
import { checkKafkaCredentials } from '../runtime/kafkaCredentials.ts';
import { postgresProgram } from '../stack/services/postgres.ts';
import { AudioStore, createS3 } from '../storage/audioStore.ts';
import { createPool } from '../storage/db.ts';
import { createKafka } from '../streams/kafka.ts';

const USAGE = 'usage: npm run restore -- --from DIR   (onto an empty stack)';

async function main(argv: string[]): Promise<number> {
  const v = parseFlags(argv, { from: { type: 'string' } }, USAGE);
  if (typeof v.from !== 'string' || v.from === '') throw new ArgError(`--from is required\n${USAGE}`);
  const cfg = loadSettings(undefined, { logLevel: 'error' });
  await checkKafkaCredentials(cfg, 'admin');
  const log = createLogger(cfg.logLevel);
  const pool = createPool(cfg, log, 3);
  const s3 = createS3(cfg);
  try {
    await ensureBucket(s3, cfg.s3.bucket);
    const r = await runRestore(
      {
        cfg,
        pool,
        s3,
        audio: new AudioStore(s3, cfg.s3.bucket),
        kafka: createKafka(cfg, log, 'admin'),
        pgRestore: await postgresProgram('pg_restore', (s) => console.error(s)),
        log: (s) => console.error(`• ${s}`),
      },
      v.from,
    );
    console.log(
      `restored ${v.from} (recovery point ${r.recovery_point}): ${r.rows} rows, ${r.objects} audio objects, ${r.schemas} schema versions, ${r.config_records} config records; ${r.seconds} s`,
    );
    return 0;
  } finally {
    await pool.end();
    s3.destroy();
  }
}

runMain(import.meta.url, main, (err) => err.code === 'VALIDATION' || err.code === 'CONFLICT');
