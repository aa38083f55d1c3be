// One benchmark run's isolation and cleanup: its own topic prefix (so its own topics, subjects and
// consumer groups), its own tenant ids in the shared database, and a cleanup that removes every topic,
// row and audio object the run created, whatever happened.
import { DeleteObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createLogger } from '../../lib/log.ts';
import { envWith, loadSettings, readTestEnv, type Settings, withPrefix } from '../../lib/settings.ts';
import { bootstrap, type Runtime } from '../../runtime/bootstrap.ts';
import { createKafka } from '../../streams/kafka.ts';

export interface RunScope {
  runId: string;
  cfg: Readonly<Settings>;
  runtime(): Promise<Runtime>;
  tenant(label: string): string;
  /** Removes topics, rows and objects of this run; closes the shared runtime. */
  cleanup(log: (s: string) => void): Promise<void>;
}

export function createRunScope(): RunScope {
  // Short and unique: the prefix appears in topic names, group ids and tenant ids (64 chars at most).
  const runId = `bench${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 3)
    .toString(36)
    .padStart(3, '0')}`;
  // Scratch topics under the run's prefix: the tests' principal (the roles' own have ACLs only for the
  // deployment's prefix; stack/kafkaAuth.ts).
  const base = loadSettings(envWith({ KAFKA_PRINCIPAL: readTestEnv().kafkaPrincipal }), {
    logLevel: 'error',
  });
  const cfg = withPrefix(base, runId);
  let rt: Promise<Runtime> | undefined;
  const tenants = new Set<string>();
  return {
    runId,
    cfg,
    runtime() {
      rt ??= bootstrap(cfg);
      return rt;
    },
    tenant(label: string) {
      const t = `${runId}-${label}`.slice(0, 64);
      tenants.add(t);
      return t;
    },
    async cleanup(log) {
      const admin = createKafka(cfg, createLogger('silent')).admin();
      try {
        await admin.connect();
        const mine = (await admin.listTopics()).filter((n) => n.startsWith(`${runId}.`));
        if (mine.length) await admin.deleteTopics({ topics: mine, timeout: 30_000 });
        log(`deleted ${mine.length} topics with prefix ${runId}.`);
      } catch (err) {
        log(`topic cleanup failed: ${(err as Error).message}`);
      } finally {
        await admin.disconnect().catch(() => {});
      }
      if (!rt) return;
      let runtime: Runtime;
      try {
        runtime = await rt;
      } catch {
        return;
      }
      const like = `${runId}-%`;
      try {
        const q = (sql: string, args: unknown[]) => runtime.pool.query(sql, args);
        await q(
          `DELETE FROM snapshot_keys k USING station_snapshots s
            WHERE s.snapshot_id = k.snapshot_id AND s.tenant_id LIKE $1`,
          [like],
        );
        await q('DELETE FROM snapshot_keys WHERE snapshot_id LIKE $1', [like]);
        await q('DELETE FROM station_snapshots WHERE tenant_id LIKE $1', [like]);
        await q('DELETE FROM segments WHERE call_id IN (SELECT call_id FROM calls WHERE tenant_id LIKE $1)', [
          like,
        ]);
        await q('DELETE FROM channels WHERE call_id IN (SELECT call_id FROM calls WHERE tenant_id LIKE $1)', [
          like,
        ]);
        await q('DELETE FROM calls WHERE tenant_id LIKE $1', [like]);
        await q('DELETE FROM config_state WHERE stream = $1', [runId]);
        await q('DELETE FROM parameter_changes WHERE stream = $1', [runId]);
        await q('DELETE FROM optimizer_runs WHERE stream = $1', [runId]);
        await q('DELETE FROM outbox WHERE stream = $1', [runId]);
        const scratch = await q(
          `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE $1`,
          [`${runId.toLowerCase()}%`],
        );
        for (const r of scratch.rows as { tablename: string }[]) await q(`DROP TABLE "${r.tablename}"`, []);
        log(
          `deleted this run's rows (tenants ${like}, stream ${runId}) and ${scratch.rowCount} scratch tables`,
        );
      } catch (err) {
        log(`database cleanup failed: ${(err as Error).message}`);
      }
      try {
        let objects = 0;
        for (const t of tenants) {
          let token: string | undefined;
          do {
            const page = await runtime.s3.send(
              new ListObjectsV2Command({
                Bucket: cfg.s3.bucket,
                Prefix: `audio/v1/${t}/`,
                ContinuationToken: token,
              }),
            );
            const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
            if (keys.length) {
              await runtime.s3.send(
                new DeleteObjectsCommand({ Bucket: cfg.s3.bucket, Delete: { Objects: keys, Quiet: true } }),
              );
              objects += keys.length;
            }
            token = page.IsTruncated ? page.NextContinuationToken : undefined;
          } while (token);
        }
        log(`deleted ${objects} audio objects of this run`);
      } catch (err) {
        log(`object cleanup failed: ${(err as Error).message}`);
      }
      await runtime.close();
    },
  };
}
