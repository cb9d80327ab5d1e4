export * from './errors.js';
export * from './x509-generator.js';
export * from './certificate-info.js';
export * from './credential.js';
export * from './certificate-store.js';
export * from './system-certificate-store.js';
