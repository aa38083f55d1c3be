// A maintenance sweep in a process of its own, for the SIGKILL test: `tsx test/helpers/maintenanceChild.ts
// NOW_MS PAUSE_AFTER` sweeps the database and bucket of DATABASE_URL / S3_BUCKET as of NOW_MS and, after
// PAUSE_AFTER object deletions, prints PAUSED and waits for ever (the parent then kills it).

import { createLogger } from '../../lib/log.ts';
import { loadSettings } from '../../lib/settings.ts';
import { runSweep } from '../../maintenance/index.ts';
import { maintenanceOptionsFor } from '../../runtime/deps.ts';
import { AudioStore, createS3 } from '../../storage/audioStore.ts';
import { createPool } from '../../storage/db.ts';
import { tryLeadMaintenance } from '../../storage/retention.ts';

const [nowArg, pauseArg] = process.argv.slice(2);
const cfg = loadSettings();
const log = createLogger('warn');
const pool = createPool(cfg, log, 3);
const lock = await pool.connect();
if (!(await tryLeadMaintenance(lock))) throw new Error('lock held');
await runSweep(
  { pool, audio: new AudioStore(createS3(cfg), cfg.s3.bucket), log },
  {
    ...maintenanceOptionsFor(cfg),
    now: Number(nowArg),
    dryRun: false,
    hooks: {
      async afterObjectDelete(_key, n) {
        if (n === Number(pauseArg)) {
          process.stdout.write('PAUSED\n');
          await new Promise(() => {});
        }
      },
    },
  },
);
process.stdout.write('DONE\n');
process.exit(0);
