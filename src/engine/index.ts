export * from './errors.js';
export * from './log-sink.js';
export * from './replicator.js';
export * from './scheduler.js';
export { diskLogId, vmLogId } from './ids.js';
export { loadPrimaryState, type PrimaryState, type PrimaryDiskState } from './primary-state.js';
