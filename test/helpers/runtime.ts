// Test isolation (STYLE §11): each test gets its own topic prefix (so its own topics, subjects and
// consumer groups) and its own tenant ids in the shared database; cleanup is registered next to creation.
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { mintToken } from '../../lib/auth.ts';
import { type Config, loadConfig, withPrefix } from '../../lib/config.ts';
import { createLogger } from '../../lib/log.ts';
import { createKafka } from '../../streams/kafka.ts';

export function uniqueId(label = 't'): string {
  return `${label}${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

export function testConfig(label = 'test', env: Record<string, string> = {}): Readonly<Config> {
  const base = loadConfig({
    ...process.env,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    SNAPSHOT_PARTITIONS: '3',
    ...env,
  });
  return withPrefix(base, uniqueId(`${label}-`));
}

/** Deletes the test's topics when it ends. */
export function cleanupTopics(t: TestContext, cfg: Readonly<Config>): void {
  t.after(async () => {
    const admin = createKafka(cfg, createLogger('silent')).admin();
    await admin.connect();
    const mine = (await admin.listTopics()).filter((n) => n.startsWith(`${cfg.topics.prefix}.`));
    if (mine.length) await admin.deleteTopics({ topics: mine }).catch(() => {});
    await admin.disconnect();
  });
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    await sleep(everyMs);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`,
  );
}

export function token(
  cfg: Readonly<Config>,
  role: 'station' | 'operator' | 'viewer',
  tenant: string,
): string {
  return `Bearer ${mintToken(cfg.api.tokenSecret, { sub: `test-${role}`, role, tenant })}`;
}
