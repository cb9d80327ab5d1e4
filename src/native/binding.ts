/**
 * Loads the addon through node-gyp-build (prebuilds/<platform>-<arch>/ or build/Release/) and types its
 * raw surface. Only wrappers in src/native and the tracker/disk modules use this; they validate
 * arguments before any call, so the addon only asserts.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeError } from './native-error.js';

export interface HostFeatures {
  platform: 'posix' | 'win32';
  resilientChangeTracking: boolean;
  volumeShadowCopy: boolean;
}

/** The addon's functions. Each binding file in native/src/binding adds its part here. */
export interface NativeBinding {
  setErrorClass(ctor: typeof NativeError): void;
  version(): string;
  hostFeatures(): HostFeatures;
  requireHostFeature(name: keyof Omit<HostFeatures, 'platform'>): void;
  fileSize(path: string): Promise<number>;
  /** Marks a file sparse (NTFS, ReFS); false where the file system cannot, true and nothing done on POSIX. */
  markSparse(path: string): Promise<boolean>;
  /** When process `pid` started, as text unique to it across pid reuse and reboots; undefined when unknown. */
  processStartIdentity(pid: number): string | undefined;
}

/** The package root: dist/src/native → three levels up. */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

let loaded: NativeBinding | undefined;

export function binding(): NativeBinding {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const load = require('node-gyp-build') as (dir: string) => unknown;
  let addon: NativeBinding;
  try {
    // HVR_ADDON_PATH names one .node file explicitly: tests compare the cmake-js and node-gyp builds.
    const explicit = process.env.HVR_ADDON_PATH;
    addon = (explicit ? require(explicit) : load(packageRoot)) as NativeBinding;
  } catch (error) {
    throw new NativeError(
      `the hvreplica native addon could not be loaded: ${(error as Error).message}. ` +
        'Run "npm run build:native" (or reinstall the package) so that build/Release or prebuilds/ holds it.',
      { code: 'ERR_ADDON_NOT_LOADED' },
    );
  }
  addon.setErrorClass(NativeError);
  loaded = addon;
  return addon;
}
