// Where the local stack's services listen: fixed loopback ports (so the program's settings, the demo
// and docker-compose.yml all point at the same addresses) and the credentials they are started with.
// Pure values; the few overrides come from the environment through lib/settings.ts.

export interface S3Endpoint {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  forcePathStyle: boolean;
}

export interface StackEndpoints {
  kafkaBrokers: string[];
  schemaRegistryUrl: string;
  databaseUrl: string;
  s3: S3Endpoint;
}

export const host = '127.0.0.1';

export const fixedPorts = Object.freeze({
  kafka: 39092,
  kafkaController: 39093,
  apicurio: 38081,
  // Quarkus always opens a management interface (health, metrics); pinned to loopback too.
  apicurioManagement: 38082,
  postgres: 35432,
  s3proxy: 39000,
});

export const postgresCredentials = Object.freeze({
  user: 'voiceloop',
  password: 'voiceloop',
  database: 'voiceloop',
  // Apicurio keeps its schemas here so schema ids survive restarts, as Kafka's data does.
  apicurioDatabase: 'apicurio',
});

export const localS3: S3Endpoint = Object.freeze({
  endpoint: `http://${host}:${fixedPorts.s3proxy}`,
  region: 'us-east-1',
  accessKeyId: 'voiceloop',
  secretAccessKey: 'voiceloop-secret',
  bucket: 'voiceloop-audio',
  forcePathStyle: true,
});

/** The local stack's endpoints, with the registry on `apicurioPort`. */
export function localEndpoints(apicurioPort: number): StackEndpoints {
  return Object.freeze({
    kafkaBrokers: [`${host}:${fixedPorts.kafka}`],
    schemaRegistryUrl: `http://${host}:${apicurioPort}/apis/ccompat/v7`,
    databaseUrl: `postgres://${postgresCredentials.user}:${postgresCredentials.password}@${host}:${fixedPorts.postgres}/${postgresCredentials.database}`,
    s3: localS3,
  });
}
