export * from './errors.js';
export * from './replica-storage.js';
export { acceptLog, type Acceptance } from './log-acceptance.js';
export { createVhdxReplicaStorage, openVhdxReplicaStorage, VhdxReplicaStorage, type CreateReplicaStorageOptions, type VhdxReplicaStorageOptions } from './vhdx-replica-storage.js';
