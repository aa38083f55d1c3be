// Ids that end up in keys (config keys, object keys, consumer groups): a safe alphabet and length.
export const ID_RE = /^[A-Za-z0-9._-]{1,64}$/;
export const SNAPSHOT_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
