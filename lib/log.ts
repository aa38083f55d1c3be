import { type Logger, pino } from 'pino';

export type { Logger };

/** JSON lines for services and log collectors; words for a person at a terminal (the demo). */
export type LogFormat = 'json' | 'words';

const LEVEL_NAMES: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warning',
  50: 'error',
  60: 'fatal',
};

/** One JSON log line as a sentence: `error (relay): outbox relay failed: <why>`. */
export function inWords(line: string): string {
  const e = JSON.parse(line) as Record<string, unknown>;
  const where = [e.role, e.part].filter((x) => typeof x === 'string').join('/');
  const err = e.err as { message?: string } | string | undefined;
  // kafkajs's own entries (streams/kafka.ts) carry their reason and group under `kafka`.
  const kafka = (e.kafka ?? {}) as { error?: unknown; groupId?: unknown };
  const why =
    (typeof err === 'string' ? err : err?.message) ??
    (typeof kafka.error === 'string' ? kafka.error : undefined);
  const group = typeof kafka.groupId === 'string' ? ` [group ${kafka.groupId}]` : '';
  return `${LEVEL_NAMES[e.level as number] ?? 'log'}${where ? ` (${where})` : ''}: ${String(e.msg ?? '')}${why ? `: ${why}` : ''}${group}\n`;
}

export function createLogger(level: string, name = 'voiceloop', format: LogFormat = 'json'): Logger {
  if (format === 'json') return pino({ name, level, base: { pid: process.pid } });
  return pino(
    { name, level, base: undefined },
    { write: (line: string) => process.stderr.write(inWords(line)) },
  );
}
