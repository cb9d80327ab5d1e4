import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configureLogging, flushLogs, logger } from '../../src/logging/logger.js';
import { defaultStateDir } from '../../src/util/state-dir.js';
import { tempDir } from '../helpers/paths.js';

describe('logging', () => {
  it('writes JSON lines with the component name to a log file in the state directory', async () => {
    const state = tempDir('log');
    try {
      configureLogging({ level: 'debug', logDir: state.path, quietConsole: true });
      logger('scheduler').info('cycle started', { vm: 'web01' });
      logger('transport').debug('stream opened');
      logger('scheduler').silly('below the level');
      await flushLogs();
      const lines = readFileSync(join(state.path, 'hvreplica.log'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.equal(lines.length, 2);
      assert.deepEqual(
        lines.map(({ component, message, level }) => ({ component, message, level })),
        [
          { component: 'scheduler', message: 'cycle started', level: 'info' },
          { component: 'transport', message: 'stream opened', level: 'debug' },
        ],
      );
      assert.equal(lines[0]?.vm, 'web01');
      assert.equal(lines[0]?.service, 'hvreplica');
    } finally {
      state.cleanup();
    }
  });

  it('loads winston only for a message some destination keeps, and writes verbose lines to the file at info', () => {
    // A child process: this one may have loaded winston already.
    const state = tempDir('log');
    try {
      const logger = new URL('../../src/logging/logger.js', import.meta.url).href;
      const script = `
        import { createRequire } from 'node:module';
        const { configureLogging, flushLogs, logger } = await import(${JSON.stringify(logger)});
        const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => /[\\/]winston[\\/]/.test(k));
        const seen = [];
        configureLogging({ level: 'warn', logDir: process.argv[1], quietConsole: true });
        logger('test').info('dropped');
        seen.push(loaded());
        logger('test').warn('kept');
        seen.push(loaded());
        configureLogging({ level: 'info', logDir: process.argv[1], quietConsole: true });
        logger('test').verbose('into the file');
        logger('test').debug('dropped too');
        await flushLogs();
        console.log(JSON.stringify(seen));`;
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script, state.path], { encoding: 'utf8', env: { ...process.env, HVR_LOG_LEVEL: '' } });
      assert.equal(child.status, 0, child.stderr);
      assert.deepEqual(JSON.parse(child.stdout) as boolean[], [false, true], 'not loaded for a dropped message, loaded for a kept one');
      const file = join(state.path, 'hvreplica.log');
      assert.ok(existsSync(file));
      const messages = readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { message: string }).message);
      // Two File transports (one per configuration) wrote these: their order in the file is theirs.
      assert.deepEqual(messages.sort(), ['into the file', 'kept']);
    } finally {
      state.cleanup();
    }
  });

  it('chooses the platform state directory unless HVR_STATE_DIR overrides it', () => {
    assert.equal(defaultStateDir({}, 'linux'), '/var/lib/hvreplica');
    assert.equal(defaultStateDir({ ProgramData: 'D:\\PD' }, 'win32'), join('D:\\PD', 'hvreplica'));
    assert.equal(defaultStateDir({ HVR_STATE_DIR: '/srv/hvr' }, 'linux'), '/srv/hvr');
  });
});
