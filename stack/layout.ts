// The local stack's layout: ports, versions, directories. The environment's few overrides come from
// lib/settings.ts (the one reader of the environment); the fixed addresses from stack/endpoints.ts.
import { join } from 'node:path';
import { readStackEnv } from '../lib/settings.ts';
import { fixedPorts, localEndpoints, type StackEndpoints } from './endpoints.ts';

export { host, postgresCredentials, type S3Endpoint, type StackEndpoints } from './endpoints.ts';

const stackEnv = readStackEnv();

export const ports = Object.freeze({
  ...fixedPorts,
  // Overridable only to try the registry on its own beside a running stack. defaultEndpoints
  // follows, so clients in the same process do; docker-compose.yml keeps 38081. (Registry 2.x is
  // built without a management interface; see services/apicurio.ts.)
  apicurio: stackEnv.apicurioPort,
  apicurioManagement: stackEnv.apicurioManagementPort,
});

// Versions are also in stack/pom.xml (which Maven reads); the markers written after a fetch carry
// these, so changing one here without the pom fails loudly instead of running stale jars.
export const versions = Object.freeze({
  kafka: '4.1.1',
  apicurio: '3.3.3',
  // The fallback when no Java 21+ is found: the last 2.x line, built for Java 17. Fetched by its
  // coordinates like 3.x (services/apicurio.ts), so it is not in the pom.
  apicurio2: '2.6.13.Final',
  s3proxy: '4.1.0',
});

/**
 * Which Apicurio Registry line runs: `VOICELOOP_APICURIO_VERSION=2` forces the Java 17 fallback
 * (to test it on a machine that has Java 21+), `3` insists on 3.x; unset picks 3 when a Java 21+
 * is found, else 2.
 */
export const apicurioLine: 2 | 3 | undefined = stackEnv.apicurioLine;

export const defaultEndpoints: StackEndpoints = localEndpoints(ports.apicurio);

const repoRoot = join(import.meta.dirname, '..');

/** Root of everything the stack writes: data, logs, pid files, unpacked servers. Gitignored. */
export const stateDir = stackEnv.stateDir ?? join(repoRoot, '.stack');
export const pomFile = join(import.meta.dirname, 'pom.xml');
/** A JDK to consider when `java` on PATH is too old for a server (Apicurio needs 21). */
export const javaHome: string | undefined = stackEnv.javaHome;

/** The topic prefix whose ACLs the stack's broker grants (TOPIC_PREFIX, as the program reads it). */
export const stackTopicPrefix: string = stackEnv.topicPrefix;

/** External services, used only when all four endpoints are given (a partial set is a mistake). */
export const externalEndpoints: StackEndpoints | undefined = stackEnv.external;

/** Names of the external-endpoint variables that are set when not all of them are (for a warning). */
export const partialExternalVars: readonly string[] = stackEnv.partialExternalVars;

/** What clients should use: the external services when configured, else the local stack. */
export const endpoints: StackEndpoints = externalEndpoints ?? defaultEndpoints;
