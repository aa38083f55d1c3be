// PCM audio in S3-compatible storage (DESIGN §6). Keys are content-addressed (sha256 of the bytes)
// under the tenant, so a re-upload of the same audio is a no-op and a snapshot only carries the key.

import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { audioKey, sha256Hex } from '../domain/audioKeys.ts';
import { VoiceloopError, wrapIo } from '../lib/errors.ts';
import { quietSdkNodeWarning, type Settings } from '../lib/settings.ts';

export interface StoredAudio {
  storage_key: string;
  sha256: string;
  size_bytes: number;
  /** Always true since uploads are unconditional (kept for the audio-bytes metric). */
  created: boolean;
}

export function createS3(cfg: Readonly<Settings>): S3Client {
  quietSdkNodeWarning();
  return new S3Client({
    endpoint: cfg.s3.endpoint,
    region: cfg.s3.region,
    forcePathStyle: cfg.s3.forcePathStyle,
    credentials: { accessKeyId: cfg.s3.accessKeyId, secretAccessKey: cfg.s3.secretAccessKey },
    // S3-compatible servers (S3Proxy, MinIO builds) do not all accept the SDK's default CRC32
    // trailers; checksums are sent only where the S3 API requires them. Integrity is ours: sha256.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  });
}

export class AudioStore {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  /** Uploads unless an object with this content already exists. */
  async put(tenantId: string, pcm: Uint8Array, contentType = 'audio/L16'): Promise<StoredAudio> {
    const sha256 = sha256Hex(pcm);
    const key = audioKey(tenantId, sha256);
    // No HEAD first: the key is the content's hash, so a second PUT of the same bytes rewrites the
    // same object, which costs less than a HEAD round trip on every upload (bench: producer with PCM).
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: pcm,
          ContentType: contentType,
          ContentLength: pcm.byteLength,
          Metadata: { sha256 },
        }),
      );
    } catch (err) {
      throw wrapIo('OBJECT_STORE', `uploading ${key}`, err);
    }
    return { storage_key: key, sha256, size_bytes: pcm.byteLength, created: true };
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404) return false;
      throw wrapIo('OBJECT_STORE', `checking ${key}`, err);
    }
  }

  /** Reads an object back and checks it against the sha256 in its key. */
  async get(key: string): Promise<Buffer> {
    let bytes: Uint8Array;
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      bytes = await res.Body!.transformToByteArray();
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404)
        throw new VoiceloopError('NOT_FOUND', `audio object ${key} does not exist`, { cause: err });
      throw wrapIo('OBJECT_STORE', `reading ${key}`, err);
    }
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const expected = key.match(/([0-9a-f]{64})\.pcm$/)?.[1];
    if (expected && sha256Hex(buf) !== expected) {
      throw new VoiceloopError(
        'OBJECT_STORE',
        `audio object ${key} is corrupt: its sha256 does not match its key`,
      );
    }
    return buf;
  }

  /** Every stored object under `prefix` with its last-modified time, page by page (1,000 a page). */
  async *list(prefix = 'audio/v1/'): AsyncGenerator<{ key: string; modifiedMs: number; size: number }[]> {
    let token: string | undefined;
    do {
      const page = await this.s3
        .send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }))
        .catch((err) => {
          throw wrapIo('OBJECT_STORE', `listing ${prefix}`, err);
        });
      yield (page.Contents ?? [])
        .filter((o) => o.Key && o.LastModified)
        .map((o) => ({ key: o.Key!, modifiedMs: o.LastModified!.getTime(), size: o.Size ?? 0 }));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Deletes one object (an absent one is not an error: S3 deletes are idempotent). */
  async delete(key: string): Promise<void> {
    try {
      await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      throw wrapIo('OBJECT_STORE', `deleting ${key}`, err);
    }
  }

  /** Last-modified time of one object, or undefined when it does not exist. */
  async modifiedMs(key: string): Promise<number | undefined> {
    try {
      const r = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return r.LastModified?.getTime();
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404) return undefined;
      throw wrapIo('OBJECT_STORE', `checking ${key}`, err);
    }
  }
}
