export {
  type Persister,
  type PersisterDeps,
  type PersisterOptions,
  type PersisterState,
  startPersister,
} from './persister.ts';
export { type SnapshotRow, writeSnapshots } from './rows.ts';
