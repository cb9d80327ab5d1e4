import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
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

  it('chooses the platform state directory unless HVR_STATE_DIR overrides it', () => {
    assert.equal(defaultStateDir({}, 'linux'), '/var/lib/hvreplica');
    assert.equal(defaultStateDir({ ProgramData: 'D:\\PD' }, 'win32'), join('D:\\PD', 'hvreplica'));
    assert.equal(defaultStateDir({ HVR_STATE_DIR: '/srv/hvr' }, 'linux'), '/srv/hvr');
  });
});
