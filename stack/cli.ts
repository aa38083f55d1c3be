// `npm run stack:up | stack:down | stack:status | stack:credentials | stack:acls -- PREFIX`.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { topicNames } from '../lib/settings.ts';
import { ensureStack, stackStatus, stopStack } from './index.ts';
import { credentialsFile, ensureCredentials, readCredentialsFound, roleAcls } from './kafkaAuth.ts';
import { defaultEndpoints, stateDir } from './layout.ts';
import { grantAcls } from './probes.ts';
import { elapsed } from './service.ts';

const t0 = Date.now();
const log = (line: string) => console.log(`[stack +${elapsed(t0)}] ${line}`);

async function printStatus(): Promise<boolean> {
  const { external, services } = await stackStatus();
  if (external)
    console.log('external services (from KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL, S3_ENDPOINT):');
  const rows = services.map((s) => [
    s.name,
    s.pid === undefined ? '-' : String(s.pid),
    s.endpoint,
    s.ready ? 'ready' : `NOT READY: ${s.detail ?? ''}`,
    s.logFile ?? '',
  ]);
  const header = ['service', 'pid', 'endpoint', 'state', 'log'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows])
    console.log(
      row
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
  return services.every((s) => s.ready);
}

async function main(command: string | undefined): Promise<number> {
  switch (command) {
    case 'up': {
      const info = await ensureStack({ log });
      console.log(
        JSON.stringify(
          {
            kafkaBrokers: info.kafkaBrokers,
            schemaRegistryUrl: info.schemaRegistryUrl,
            databaseUrl: info.databaseUrl,
            s3: info.s3,
          },
          null,
          2,
        ),
      );
      return 0;
    }
    case 'down':
      await stopStack({ log });
      return 0;
    case 'status':
      return (await printStatus()) ? 0 : 1;
    case 'credentials': {
      // The Kafka principals' passwords, generated once (the secured stack and docker-compose.yml use them).
      // A local broker formatted already gets missing principals at `up` (users first, then the file).
      const file = credentialsFile(stateDir);
      mkdirSync(dirname(file), { recursive: true });
      const formatted = existsSync(join(dirname(file), 'data', 'meta.properties'));
      if (!(formatted && existsSync(file))) ensureCredentials(file);
      console.log(file);
      return 0;
    }
    case 'acls': {
      // The ACLs of another deployment's topic prefix (the stack grants its own TOPIC_PREFIX's at `up`).
      const prefix = process.argv[3];
      const creds = readCredentialsFound(credentialsFile(stateDir));
      if (!prefix || creds?.admin === undefined) {
        console.error(
          `usage: tsx stack/cli.ts acls PREFIX (needs a secured stack: ${credentialsFile(stateDir)})`,
        );
        return 2;
      }
      const n = await grantAcls(
        defaultEndpoints.kafkaBrokers,
        { mechanism: 'plain', username: 'admin', password: creds.admin },
        roleAcls(prefix, topicNames(prefix)),
      );
      console.log(`granted ${n} ACLs for topic prefix ${prefix}`);
      return 0;
    }
    default:
      console.error('usage: tsx stack/cli.ts up | down | status | credentials | acls PREFIX');
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv[2]);
} catch (err) {
  console.error(`[stack] ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
