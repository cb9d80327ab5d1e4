export { NativeError, isNativeError, type NativeErrorCode } from './native/native-error.js';
export { binding, type HostFeatures } from './native/binding.js';
export { logger, configureLogging, type Logger, type LogLevel } from './logging/logger.js';
