/**
 * A TCP proxy on loopback that forwards to a target until it is frozen, as a replica server that stopped
 * answering (SIGSTOPped, hung) looks from the primary: its connections stay open, but from then on nothing
 * it receives is read and nothing comes back, so the primary's writes fill the socket buffers and stall.
 * `freezeAnswers` stops only the way back: the server takes a whole request, but its answer never arrives.
 * `freezeAnswersOnceConnected` lets the next connection's TLS handshake through and stops the way back only
 * then (at the client's first bytes after the server's: its Finished), so a client that has connected waits
 * for the answer to its first request. `thaw` lets connections made after it through again.
 */
import net from 'node:net';

export interface FreezingProxy {
  port: number;
  /** Nothing more passes in either direction, on connections open now or made later. */
  freeze(): void;
  /** Nothing more passes from the server to the primary (requests still reach the server). */
  freezeAnswers(): void;
  /** As freezeAnswers, once a connection made from now on has completed its TLS handshake. */
  freezeAnswersOnceConnected(): void;
  /** Whether answers stopped (freezeAnswers, freeze, or a connection froze them once connected). */
  readonly answersFrozen: boolean;
  /** Connections made from now on pass again (those frozen stay so: what they lost is lost). */
  thaw(): void;
  close(): Promise<void>;
}

export async function startFreezingProxy(targetPort: number): Promise<FreezingProxy> {
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  const state = { requests: true, answers: true, onceConnected: false };
  const apply = ({ client, upstream }: { client: net.Socket; upstream: net.Socket }) => {
    // Paused, a socket reads nothing more: the kernel's buffers fill as they would towards a stopped process.
    if (!state.requests) client.pause();
    if (!state.answers) upstream.pause();
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair = { client, upstream };
    pairs.add(pair);
    let answered = false;
    client.on('data', (chunk: Buffer) => {
      if (!state.requests) return;
      if (state.onceConnected && answered) {
        state.onceConnected = false;
        state.answers = false;
        for (const each of pairs) apply(each);
      }
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => state.requests && client.resume());
    upstream.on('data', (chunk: Buffer) => {
      answered = true;
      if (!state.answers) return;
      if (!client.write(chunk)) upstream.pause();
    });
    client.on('drain', () => state.answers && upstream.resume());
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      a.on('error', () => b.destroy());
      a.on('close', () => {
        b.destroy();
        pairs.delete(pair);
      });
    }
    apply(pair);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze() {
      state.requests = false;
      state.answers = false;
      for (const pair of pairs) apply(pair);
    },
    freezeAnswers() {
      state.answers = false;
      for (const pair of pairs) apply(pair);
    },
    freezeAnswersOnceConnected() {
      state.onceConnected = true;
    },
    get answersFrozen() {
      return !state.answers;
    },
    thaw() {
      state.requests = true;
      state.answers = true;
      state.onceConnected = false;
    },
    close: async () => {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
