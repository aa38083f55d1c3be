export { type Persister, type PersisterDeps, type PersisterOptions, startPersister } from './persister.ts';
export { type SnapshotRow, writeSnapshots } from './rows.ts';
