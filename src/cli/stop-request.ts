/**
 * What asks a long-running role (`server run`, `agent run`) to stop gracefully: SIGINT, SIGTERM, or, when the
 * process that started it holds an IPC channel to it, a stop message or the end of that channel.
 *
 * Why the channel: Windows has no SIGTERM one process can send another. The Windows service (service/impl.ts)
 * runs its role as a child and, asked by the Service Control Manager to stop, could only end it with
 * TerminateProcess: a replica server in the middle of an apply, an agent in the middle of an upload, stopped
 * without their own cleanup. Through the channel the role stops as it does under systemd. The channel's end
 * counts too: a service process that died must not leave its role running as an orphan that holds the state
 * directory against the service the manager restarts.
 */
export const STOP_MESSAGE = 'hvreplica:stop';

/** Resolves with what asked to stop; listens from the call on. */
export function stopRequested(): Promise<string> {
  return new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
    const channel = process.channel;
    if (!channel) return;
    process.on('message', (message: unknown) => {
      if (message === STOP_MESSAGE) resolve('stop request');
    });
    process.once('disconnect', () => resolve('the process that started this one is gone'));
    // Listening refs the channel; it must not keep the role's process alive once the role has stopped.
    channel.unref();
  });
}
