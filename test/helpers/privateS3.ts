// A private S3Proxy for fault and backup tests: the stack's jars (stack/services/s3proxy.ts fetches them,
// cached), its own port and data directory, so a test can kill the object store and start it again, or
// destroy a whole stack's objects, while everyone else keeps using the shared one. Killed with SIGKILL:
// a crash, not a controlled shutdown. The data directory survives a restart, as the stack's does.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultEndpoints, host, stateDir } from '../../stack/layout.ts';
import { s3Answers } from '../../stack/probes.ts';
import { javaFor } from '../../stack/services/java.ts';
import { s3proxy, s3proxyProperties } from '../../stack/services/s3proxy.ts';
import { freePort, type PrivateServer, startPrivateServer } from './privateProcess.ts';

export interface PrivateS3 extends PrivateServer {
  url: string;
  /** S3_* settings for testSettings: the stack's credentials and bucket name, this server's endpoint. */
  env: Record<string, string>;
}

export async function startPrivateS3(log: (s: string) => void = () => {}): Promise<PrivateS3> {
  await s3proxy.fetch!(log);
  const java = (await javaFor(17)).bin;
  const dir = mkdtempSync(join(tmpdir(), 'voiceloop-s3-'));
  const data = join(dir, 'data');
  mkdirSync(data);
  const port = await freePort();
  const config = join(dir, 's3proxy.properties');
  writeFileSync(config, s3proxyProperties({ port, dataDir: data }));
  const logback = join(dir, 'logback.xml');
  writeFileSync(
    logback,
    '<configuration><appender name="o" class="ch.qos.logback.core.ConsoleAppender"><encoder><pattern>%msg%n</pattern></encoder></appender><root level="ERROR"><appender-ref ref="o"/></root></configuration>',
  );
  const s3 = { ...defaultEndpoints.s3, endpoint: `http://${host}:${port}` };
  const server = await startPrivateServer({
    name: 'private S3Proxy',
    dir,
    spawn: () =>
      spawn(
        java,
        [
          '-Xmx256m',
          `-Dlogback.configurationFile=${logback}`,
          '-cp',
          `${join(stateDir, 's3proxy', 'libs')}/*`,
          'org.gaul.s3proxy.Main',
          '--properties',
          config,
        ],
        { cwd: dir, stdio: 'ignore' },
      ),
    ready: () => s3Answers(s3),
    timeoutMs: 90_000,
  });
  return {
    ...server,
    url: s3.endpoint,
    env: {
      S3_ENDPOINT: s3.endpoint,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      S3_BUCKET: s3.bucket,
      S3_REGION: s3.region,
    },
  };
}
