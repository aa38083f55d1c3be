// S3Proxy with its filesystem backend: an S3 API over a folder under the state directory.
// Objects are plain files, so they persist across restarts and are easy to inspect.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { defaultEndpoints, host, ports, stateDir, versions } from '../layout.ts';
import { copyProfileDependencies, hasMarker } from '../maven.ts';
import { s3Answers, s3Client, s3Ready } from '../probes.ts';
import { logsDir, once, type Service, timed } from '../service.ts';
import { javaFor } from './java.ts';

const baseDir = join(stateDir, 's3proxy');
const libsDir = join(baseDir, 'libs');
const dataDir = join(baseDir, 'data');
const configFile = join(baseDir, 's3proxy.properties');
const logbackFile = join(baseDir, 'logback.xml');
const s3 = defaultEndpoints.s3;
// The s3proxy jar ships no logback config, and logback's fallback logs every Jetty event at DEBUG
// (about 1 MB a minute when idle-polled). Requests at INFO are plenty for a dev box.
const logbackConfig = `<configuration>
  <appender name="stdout" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{HH:mm:ss.SSS} %-5level [%thread] %logger{36} - %msg%n</pattern></encoder>
  </appender>
  <logger name="org.gaul.shaded" level="WARN"/>
  <root level="INFO"><appender-ref ref="stdout"/></root>
</configuration>
`;

/** The java binary chosen in prepare(); see java.ts. */
let java = 'java';

/** S3Proxy's properties for a port and data directory (the fault tests run a private one). */
export function s3proxyProperties(o: { port: number; dataDir: string }): string {
  const props: Record<string, string> = {
    's3proxy.endpoint': `http://${host}:${o.port}`,
    // Accept both signature versions, as S3 does; SDK v3 signs with v4.
    's3proxy.authorization': 'aws-v2-or-v4',
    's3proxy.identity': s3.accessKeyId,
    's3proxy.credential': s3.secretAccessKey,
    // S3Proxy 4 dropped jclouds but kept these property names for its own filesystem store.
    'jclouds.provider': 'filesystem',
    'jclouds.filesystem.basedir': o.dataDir,
    'jclouds.identity': s3.accessKeyId,
    'jclouds.credential': s3.secretAccessKey,
  };
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

export const s3proxy: Service = {
  name: 's3proxy',
  port: ports.s3proxy,
  program: 'java',
  marker: `-Dvoiceloop.stack=${configFile}`,
  logFile: join(logsDir, 's3proxy.log'),
  startTimeoutMs: 90_000,
  stopSignal: 'SIGTERM',
  stopTimeoutMs: 15_000,

  fetch: once(async (log) => {
    if (hasMarker(libsDir, versions.s3proxy)) return;
    await timed(log, `fetched S3Proxy ${versions.s3proxy} jars with Maven into ${libsDir}`, () =>
      copyProfileDependencies('s3proxy', libsDir, versions.s3proxy),
    );
  }),

  async prepare(log) {
    await s3proxy.fetch!(log);
    java = (await javaFor(17)).bin;
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(configFile, s3proxyProperties({ port: ports.s3proxy, dataDir }));
    writeFileSync(logbackFile, logbackConfig);
  },

  command() {
    return {
      command: java,
      args: [
        `-Dvoiceloop.stack=${configFile}`,
        '-Xmx256m',
        `-Dlogback.configurationFile=${logbackFile}`,
        '-cp',
        `${libsDir}/*`,
        'org.gaul.s3proxy.Main',
        '--properties',
        configFile,
      ],
      cwd: baseDir,
    };
  },

  answers: () => s3Answers(s3),

  async bootstrap(log) {
    const client = s3Client(s3);
    try {
      await client.send(new CreateBucketCommand({ Bucket: s3.bucket }));
      log(`created bucket ${s3.bucket}`);
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
    } finally {
      client.destroy();
    }
  },

  ready: () => s3Ready(s3),
};
