/**
 * A TCP proxy on loopback that forwards to a target and, once, cuts both connections after a given
 * number of client-to-server bytes: a network fault in the middle of an upload. With `silent`, the
 * connections are not closed but go quiet in both directions (a dropped NAT entry, a pulled cable):
 * nothing tells either end. With `bytesPerSecond`, client-to-server bytes pass at that rate (a slow link).
 */
import net from 'node:net';

export interface CuttingProxy {
  port: number;
  cuts: number;
  close(): Promise<void>;
}

export async function startCuttingProxy(targetPort: number, cutAfterBytes: number, options: { silent?: boolean; bytesPerSecond?: number } = {}): Promise<CuttingProxy> {
  const sockets = new Set<net.Socket>();
  const state = { armed: true, cuts: 0 };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let forwarded = 0;
    let quiet = false;
    const cut = state.armed;
    client.on('data', (chunk: Buffer) => {
      if (quiet) return;
      if (cut && state.armed && forwarded + chunk.length >= cutAfterBytes) {
        state.armed = false;
        state.cuts += 1;
        upstream.write(chunk.subarray(0, Math.max(0, cutAfterBytes - forwarded)), () => {
          if (options.silent) {
            quiet = true;
            return;
          }
          client.destroy();
          upstream.destroy();
        });
        return;
      }
      forwarded += chunk.length;
      if (options.bytesPerSecond) {
        client.pause();
        upstream.write(chunk);
        setTimeout(() => client.resume(), (chunk.length / options.bytesPerSecond) * 1000);
        return;
      }
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (chunk: Buffer) => {
      if (quiet) return;
      if (!client.write(chunk)) upstream.pause();
    });
    client.on('drain', () => upstream.resume());
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      a.on('error', () => b.destroy());
      a.on('close', () => {
        b.destroy();
        sockets.delete(a);
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get cuts() {
      return state.cuts;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
