/** `hvreplica agent run`: the primary agent in the foreground until SIGINT/SIGTERM, then a report. */
import { hostname } from 'node:os';
import { Agent } from '../../../agent/agent.js';
import { logger } from '../../../logging/logger.js';
import type { CommandResult } from '../../output.js';
import { openHostAdapter } from '../replication/host.js';
import type { AgentRunArgs } from './command.js';

const log = logger('agent');

export async function agentRun(args: AgentRunArgs): Promise<CommandResult> {
  let cycles = 0;
  let failures = 0;
  const agent = new Agent({
    stateDir: args['state-dir'],
    host: openHostAdapter(args),
    onCycle: (_vm, outcome) => {
      if (!outcome.ok) failures += 1;
      else if (outcome.result) cycles += 1;
    },
  });
  const startedAt = new Date().toISOString();
  // Listening before starting: a stop requested while relationships are being read is still graceful.
  const stopRequested = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  await agent.start();
  log.info('agent running', { relationships: agent.scheduled.length });
  const signal = await stopRequested;
  log.info('stopping; running cycles are aborted and resent later', { signal });
  await agent.stop();
  return { data: { ComputerName: hostname(), StartedAt: startedAt, StoppedAt: new Date().toISOString(), Cycles: cycles, FailedCycles: failures } };
}
