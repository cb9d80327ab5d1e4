/** Public API of failover: the state machine, the record store, and the operations (in-process library). */
export * from './errors.js';
export * from './state.js';
export { FailoverStore, FAILOVER_RECORD_FORMAT, recordOfRelationship, type ActiveFailover, type FailoverRecord, type HeldChain, type TestFailover } from './record.js';
export { FailoverSite, type FailoverSiteOptions } from './site.js';
export { acceptsChanges, enableReplication, replicateOnce, checkFrequency, refusesChangesBecause, type EnableOptions, type ReplicateOptions } from './replication.js';
export { choosePoint, type PointChoice } from './recovery-points.js';
export { startTestFailover, stopTestFailover } from './test-failover.js';
export {
  assertMayStart,
  completeFailover,
  prepareFailover,
  startFailover,
  stopFailover,
  type StartFailoverOptions,
  type StartFailoverResult,
  type StopFailoverOutcome,
} from './failover.js';
export { finishHeldChain, finishHeldChainBeforeRemoval, finishHeldChainIfOff } from './held-chain.js';
export { reverseReplication, setAsReplica } from './reverse.js';
export { removeReplica, type RemovedReplica } from './remove-replica.js';
export { resumeReplication, suspendReplication } from './suspend.js';
export { checkExtendedFrequency, continueExtended, enableExtendedReplication, replicateExtended, EXTENDED_FREQUENCIES } from './extended.js';
export { contentId, type HashSyncResult } from './disk-sync.js';
