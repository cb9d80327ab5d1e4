export * from './errors.js';
export * from './guid.js';
export * from './position.js';
export {
  CodecId,
  LOG_FORMAT_VERSION,
  MAX_RECORD_BYTES,
  RecordType,
  type Consistency,
  type LogHeader,
  type LogHeaderInput,
  type LogTrailer,
} from './log-format.js';
export * from './codec.js';
export * from './record-hash.js';
export * from './log-encoder.js';
export * from './log-decoder.js';
export * from './replica-vm.js';
