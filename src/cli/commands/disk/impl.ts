/** The `hvreplica disk` verbs. Results are plain objects (the --json `result`); see docs in command.ts. */
import { open, stat } from 'node:fs/promises';
import { CliError } from '../../cli-error.js';
import type { GlobalOptions } from '../../command-kit.js';
import type { CommandResult } from '../../output.js';
import { checkDisk, createDisk, mergeDisk, openDisk, reparentDisk, type Extent, type VhdxDiskType } from '../../../vhdx/index.js';
import { openSource, type DiskSource } from './sources.js';
import { parseSize } from './size.js';

const CHUNK = 4 * 1024 * 1024;

export async function diskInfo(args: GlobalOptions & { path: string }): Promise<CommandResult> {
  const disk = await openDisk(args.path);
  try {
    return { data: disk.info };
  } finally {
    await disk.close();
  }
}

export async function diskCheck(args: GlobalOptions & { path: string }): Promise<CommandResult> {
  const report = await checkDisk(args.path);
  if (!report.ok) process.exitCode = 1;
  const human = report.ok
    ? `No errors were found in ${report.path}.${report.warnings.map((w) => `\nwarning: ${w}`).join('')}`
    : `${report.errors.length} error(s) in ${report.path}:\n${report.errors.map((e) => `  ${e}`).join('\n')}`;
  return { data: report, human };
}

export async function diskMap(
  args: GlobalOptions & { path: string; 'layer-only': boolean; offset?: string; length?: string },
): Promise<CommandResult<{ virtualSize: number; layerOnly: boolean; extents: Extent[] }>> {
  const disk = await openDisk(args.path);
  try {
    const offset = args.offset ? parseSize('offset', args.offset) : 0;
    const options = { layerOnly: args['layer-only'], offset, ...(args.length ? { length: parseSize('length', args.length) } : {}) };
    const extents = await disk.map(options);
    const human = extents.map((e) => `${String(e.offset).padStart(16)} ${String(e.length).padStart(16)}  ${e.state}`).join('\n');
    return { data: { virtualSize: disk.info.virtualSize, layerOnly: options.layerOnly, extents }, human: `${'offset'.padStart(16)} ${'length'.padStart(16)}  state\n${human}` };
  } finally {
    await disk.close();
  }
}

export async function diskCreate(
  args: GlobalOptions & {
    path: string;
    type: VhdxDiskType;
    size?: string;
    'block-size'?: string;
    'logical-sector-size'?: 512 | 4096;
    'physical-sector-size'?: 512 | 4096;
    parent?: string;
  },
): Promise<CommandResult> {
  if (args.type === 'differencing' && !args.parent) throw new CliError('ERR_USAGE', 'a differencing disk needs --parent', 2);
  if (args.type !== 'differencing' && !args.size) throw new CliError('ERR_USAGE', `a ${args.type} disk needs --size`, 2);
  await createDisk(args.path, {
    type: args.type,
    ...(args.size ? { virtualSize: parseSize('size', args.size) } : {}),
    ...(args['block-size'] ? { blockSize: parseSize('block-size', args['block-size']) } : {}),
    ...(args['logical-sector-size'] ? { logicalSectorSize: args['logical-sector-size'] } : {}),
    ...(args['physical-sector-size'] ? { physicalSectorSize: args['physical-sector-size'] } : {}),
    ...(args.parent ? { parentPath: args.parent } : {}),
  });
  const disk = await openDisk(args.path);
  try {
    return { data: disk.info };
  } finally {
    await disk.close();
  }
}

function isZero(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i += 8) if (buf.readBigUInt64LE(i) !== 0n) return false;
  return true;
}

export async function diskConvert(
  args: GlobalOptions & { source: string; target: string; 'target-format'?: 'raw' | 'vhdx'; type: 'dynamic' | 'fixed'; 'block-size'?: string },
): Promise<CommandResult> {
  const format = args['target-format'] ?? (/\.a?vhdx$/i.test(args.target) ? 'vhdx' : 'raw');
  const source = await openSource(args.source);
  let written = 0;
  try {
    const size = source.size;
    if (format === 'raw') {
      const out = await open(args.target, 'wx');
      try {
        await out.truncate(size);
        for (const e of await source.dataExtents()) {
          for (let at = e.offset; at < e.offset + e.length; at += CHUNK) {
            const n = Math.min(CHUNK, e.offset + e.length - at);
            const buf = await source.read(at, n);
            if (isZero(buf)) continue;
            await out.write(buf, 0, n, at);
            written += n;
          }
        }
        await out.sync();
      } finally {
        await out.close();
      }
    } else {
      const blockSize = args['block-size'] ? parseSize('block-size', args['block-size']) : undefined;
      const sectorSize = size % 512 === 0 ? size : size + 512 - (size % 512);
      await createDisk(args.target, { type: args.type, virtualSize: sectorSize, ...(blockSize ? { blockSize } : {}) });
      const disk = await openDisk(args.target, { writable: true });
      try {
        for (const e of await source.dataExtents()) {
          for (let at = e.offset; at < e.offset + e.length; at += CHUNK) {
            const n = Math.min(CHUNK, e.offset + e.length - at);
            const buf = await source.read(at, n);
            if (isZero(buf)) continue; // dynamic targets stay sparse
            await disk.write(at, buf);
            written += n;
          }
        }
      } finally {
        await disk.close();
      }
    }
    return { data: { source: args.source, target: args.target, format, virtualSize: size, bytesWritten: written } };
  } finally {
    await source.close();
  }
}

export async function diskCompare(args: GlobalOptions & { first: string; second: string }): Promise<CommandResult> {
  const a: DiskSource = await openSource(args.first);
  const b: DiskSource = await openSource(args.second);
  try {
    let firstDifference: number | null = null;
    const common = Math.min(a.size, b.size);
    for (let at = 0; at < common && firstDifference === null; at += CHUNK) {
      const n = Math.min(CHUNK, common - at);
      const [x, y] = await Promise.all([a.read(at, n), b.read(at, n)]);
      if (!x.equals(y)) {
        let i = 0;
        while (x[i] === y[i]) i++;
        firstDifference = at + i;
      }
    }
    // Like qemu-img compare: a longer disk may still be identical if its extra part reads as zeros.
    const longer = a.size > b.size ? a : b;
    for (let at = common; at < longer.size && firstDifference === null; at += CHUNK) {
      const n = Math.min(CHUNK, longer.size - at);
      const x = await longer.read(at, n);
      if (!isZero(x)) firstDifference = at + x.findIndex((v) => v !== 0);
    }
    const identical = firstDifference === null;
    if (!identical) process.exitCode = 1;
    return {
      data: { identical, firstDifference, sizes: [a.size, b.size] },
      human: identical ? 'Images are identical.' : `Content mismatch at offset ${firstDifference}!`,
    };
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

export async function diskMerge(args: GlobalOptions & { child: string }): Promise<CommandResult> {
  const before = await openDisk(args.child);
  const parent = before.info.parentPath;
  await before.close();
  if (!parent) throw new CliError('ERR_INVALID_ARGUMENT', `'${args.child}' is not a differencing disk; there is nothing to merge`, 2);
  await mergeDisk(args.child);
  const merged = await openDisk(parent);
  try {
    return { data: { child: args.child, parent, parentDataWriteGuid: merged.info.dataWriteGuid, parentSize: (await stat(parent)).size } };
  } finally {
    await merged.close();
  }
}

export async function diskReparent(args: GlobalOptions & { child: string; parent: string }): Promise<CommandResult> {
  // The engine proves the new parent shows what the old one showed, then rewrites the locator.
  await reparentDisk(args.child, args.parent);
  const after = await openDisk(args.child);
  try {
    const info = after.info;
    return {
      data: { child: info.path, parent: info.parentPath ?? null, parentLinkage: info.parentLocator?.parentLinkage ?? null, chain: info.chain },
      human: `${info.path} now has parent ${info.parentPath ?? '(none)'} (linkage ${info.parentLocator?.parentLinkage ?? '-'})`,
    };
  } finally {
    await after.close();
  }
}
