// PostgreSQL from the Debian packages, with its own data directory under the state folder.
// initdb and postgres refuse to run as root, so as root we run them as an unprivileged OS user.
import { chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type DebianNeed, ensureDebianPackages } from '../debian.ts';
import { defaultEndpoints, host, ports, postgresCredentials, stateDir } from '../layout.ts';
import { postgresReady, withPg } from '../probes.ts';
import { run } from '../proc.ts';
import { type Log, logsDir, type Service, timed } from '../service.ts';

const baseDir = join(stateDir, 'postgres');
const dataDir = join(baseDir, 'data');
// The unix socket lives here rather than /var/run/postgresql, which belongs to the system cluster.
const socketDir = join(baseDir, 'run');
const superuser = 'postgres';

interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

let binDir: string | undefined;
let osUser: OsUser | undefined;

function findBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  // Newest major version first: "15" and "16" sort numerically, not as strings.
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

/** A client program of the stack's PostgreSQL (pg_dump, pg_restore): the same Debian binaries as the server. */
export async function postgresProgram(name: 'pg_dump' | 'pg_restore' | 'psql', log: Log): Promise<string> {
  return join(await ensureBinaries(log), name);
}

async function ensureBinaries(log: Log): Promise<string> {
  binDir ??= findBinDir();
  if (binDir) return binDir;
  const need: DebianNeed = {
    pkg: 'postgresql',
    purpose: 'the database server',
    present: () => findBinDir() !== undefined,
  };
  await ensureDebianPackages([need], log);
  binDir = findBinDir();
  if (!binDir) throw new Error('no /usr/lib/postgresql/<version>/bin/postgres after installing postgresql');
  return binDir;
}

async function lookupUser(name: string): Promise<OsUser | undefined> {
  try {
    const [, , uid, gid] = (await run('getent', ['passwd', name], { cwd: '/' })).trim().split(':');
    return { name, uid: Number(uid), gid: Number(gid) };
  } catch {
    return undefined;
  }
}

/** The OS user the server runs as: ourselves unless root; as root, `postgres` or a created `voiceloop`. */
async function ensureOsUser(log: Log): Promise<OsUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  if (osUser) return osUser;
  osUser = (await lookupUser('postgres')) ?? (await lookupUser('voiceloop'));
  if (!osUser) {
    await run('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'voiceloop'], {
      cwd: '/',
    });
    log('created OS user voiceloop to run PostgreSQL (it refuses to run as root)');
    osUser = await lookupUser('voiceloop');
    if (!osUser) throw new Error('useradd voiceloop succeeded but the user cannot be looked up');
  }
  return osUser;
}

function runAs(user: OsUser | undefined): { uid?: number; gid?: number } {
  return user ? { uid: user.uid, gid: user.gid } : {};
}

function ownedDir(dir: string, user: OsUser | undefined, mode: number): void {
  mkdirSync(dir, { recursive: true, mode });
  if (user) chownSync(dir, user.uid, user.gid);
}

// Over the unix socket the initdb superuser is trusted (auth-local=trust); TCP needs a password.
const asSuperuser = { host: socketDir, port: ports.postgres, user: superuser, database: 'postgres' };

export const postgres: Service = {
  name: 'postgres',
  port: ports.postgres,
  program: 'postgres',
  marker: `-D ${dataDir} `,
  logFile: join(logsDir, 'postgres.log'),
  startTimeoutMs: 60_000,
  // SIGTERM is PostgreSQL's "smart" shutdown, which waits for every client (Apicurio's pool, a
  // developer's psql) to leave; SIGINT is "fast": roll back sessions, checkpoint, exit.
  stopSignal: 'SIGINT',
  stopTimeoutMs: 30_000,

  async prepare(log) {
    const bin = await ensureBinaries(log);
    const user = await ensureOsUser(log);
    ownedDir(baseDir, user, 0o755);
    ownedDir(socketDir, user, 0o755);
    if (existsSync(join(dataDir, 'PG_VERSION'))) return;
    ownedDir(dataDir, user, 0o700);
    await timed(log, `initdb ${dataDir}${user ? ` as OS user ${user.name}` : ''}`, () =>
      run(
        join(bin, 'initdb'),
        [
          '-D',
          dataDir,
          `--username=${superuser}`,
          '--auth-local=trust',
          '--auth-host=scram-sha-256',
          '--encoding=UTF8',
          '--no-locale',
        ],
        { cwd: baseDir, ...runAs(user) },
      ),
    );
  },

  command() {
    return {
      command: join(binDir!, 'postgres'),
      // Settings on the command line rather than in postgresql.conf: visible in `ps`, and applied
      // to an existing data directory too.
      args: [
        '-D',
        dataDir,
        '-c',
        `listen_addresses=${host}`,
        '-c',
        `port=${ports.postgres}`,
        '-c',
        `unix_socket_directories=${socketDir}`,
        '-c',
        'max_connections=200',
        '-c',
        'shared_buffers=256MB',
        '-c',
        'fsync=on',
        '-c',
        'log_line_prefix=%m [%p] %q%u@%d ',
      ],
      cwd: baseDir,
      ...runAs(osUser),
    };
  },

  async answers() {
    return withPg(asSuperuser, async (c) => (await c.query('select 1 as ok')).rows[0]?.ok === 1);
  },

  async bootstrap(log) {
    const { user, password, database, apicurioDatabase } = postgresCredentials;
    await withPg(asSuperuser, async (c) => {
      const role = await c.query('select 1 from pg_roles where rolname = $1', [user]);
      if (role.rowCount === 0) {
        // Superuser: local development only, and migrations may create extensions.
        await c.query(`create role ${user} login superuser password '${password}'`);
        log(`created role ${user}`);
      }
      for (const db of [database, apicurioDatabase]) {
        const found = await c.query('select 1 from pg_database where datname = $1', [db]);
        if (found.rowCount === 0) {
          await c.query(`create database ${db} owner ${user}`);
          log(`created database ${db}`);
        }
      }
    });
  },

  async ready() {
    // What clients do: TCP with the password, into both databases.
    const url = new URL(defaultEndpoints.databaseUrl);
    url.pathname = `/${postgresCredentials.apicurioDatabase}`;
    return (await postgresReady(defaultEndpoints.databaseUrl)) && (await postgresReady(url.toString()));
  },
};

/** JDBC URL of Apicurio's database, for the registry's SQL storage. */
export const apicurioJdbcUrl = `jdbc:postgresql://${host}:${ports.postgres}/${postgresCredentials.apicurioDatabase}`;
