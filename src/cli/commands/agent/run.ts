/** `hvreplica agent run`: the primary agent in the foreground until SIGINT/SIGTERM, then a report. */
import { hostname } from 'node:os';
import { Agent } from '../../../agent/agent.js';
import { ExtendedAgent } from '../../../agent/extended-agent.js';
import { AgentMetrics, startMetricsListener, type MetricsListener } from '../../../agent/metrics.js';
import { CliError } from '../../cli-error.js';
import { logger } from '../../../logging/logger.js';
import type { CommandResult } from '../../output.js';
import { openHostAdapter } from '../replication/host.js';
import type { AgentRunArgs } from './command.js';
import { stopRequested } from '../../stop-request.js';

const log = logger('agent');

export async function agentRun(args: AgentRunArgs): Promise<CommandResult> {
  let cycles = 0;
  let failures = 0;
  const metricsPort = args['metrics-port'];
  if (metricsPort !== undefined && (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535)) {
    throw new CliError('ERR_INVALID_ARGUMENT', `--metrics-port must be a TCP port from 0 to 65535, got ${metricsPort}`, 2);
  }
  const host = openHostAdapter(args);
  const metrics = metricsPort === undefined ? undefined : new AgentMetrics(args['state-dir'], undefined, host);
  const agent = new Agent({
    stateDir: args['state-dir'],
    host,
    ...(metrics ? { metrics } : {}),
    onCycle: (_vm, outcome) => {
      if (!outcome.ok) failures += 1;
      else if (outcome.result) cycles += 1;
    },
  });
  const startedAt = new Date().toISOString();
  // Listening before starting: a stop requested while relationships are being read is still graceful.
  const stopping = stopRequested();
  // On a replica server, the replicas it extends to a third server (A→B→C) are sent on schedule too.
  const extended = new ExtendedAgent({
    stateDir: args['state-dir'],
    onCycle: (_vm, outcome) => {
      if (!outcome.ok) failures += 1;
      else if (outcome.result) cycles += 1;
    },
  });
  // Listening first: a port already taken fails the command before any cycle runs.
  const listener: MetricsListener | undefined =
    metrics && metricsPort !== undefined ? await startMetricsListener(metrics, metricsPort, args['metrics-host']) : undefined;
  await agent.start();
  await extended.start();
  log.info('agent running', {
    relationships: agent.scheduled.length,
    extendedRelationships: extended.scheduled.length,
    ...(listener ? { metrics: `http://${args['metrics-host']}:${listener.port}/metrics` } : {}),
  });
  const signal = await stopping;
  log.info('stopping; running cycles are aborted and resent later', { signal });
  await Promise.all([agent.stop(), extended.stop()]);
  await listener?.close();
  return { data: { ComputerName: hostname(), StartedAt: startedAt, StoppedAt: new Date().toISOString(), Cycles: cycles, FailedCycles: failures } };
}
