/**
 * Options for node itself in the primary's agent service (`hvreplica agent run`), given by whatever starts it
 * for the administrator: the systemd unit, the Windows service's child process, and the replication bench.
 * The replica server's options (server-node-options.ts), for the same reason:
 *
 * a warm agent's delta cycle allocates a buffer for every read request, compressed sample, encoded piece and
 * TLS record (~40 MiB of them for 1% of a 4 GiB disk), and V8 (node 20) counts buffer memory allocated since its
 * last full collection against a limit only ~15 MB above the agent's ~12 MB heap. Measured with `--trace-gc` on
 * warm 40 MiB cycles (bench/replication/README.md, "The warm delta cycle phase by phase"), node's defaults gave
 * 3–4 full (mark-compact) collections a cycle, every one "GC in old space requested", and 43–71 ms of pauses;
 * with these options 0–1 full collections and 21–29 ms. Starting the young generation at 8 MB as well
 * (`--min-semi-space-size=8`) left 1–2 full collections and 19–40 ms, for ~40 MiB more peak RSS: not taken.
 *
 * A one-shot `hvreplica replicate` is a CLI process and keeps node's defaults.
 */
import { REPLICA_SERVER_NODE_OPTIONS } from '../replica/server-node-options.js';

export const AGENT_NODE_OPTIONS: readonly string[] = REPLICA_SERVER_NODE_OPTIONS;
