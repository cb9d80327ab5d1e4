export * from './types.js';
export * from './errors.js';
export * from './validation.js';
export * from './statistics.js';
export * from './health.js';
export * from './store.js';
export * from './vm-selection.js';
export * from './pending.js';
