/**
 * Options for node itself in a replica server process (`hvreplica server run`), given by whatever starts one
 * for the administrator: the systemd unit, the Windows service's child process, the demo and the benches.
 * NODE_OPTIONS refuses the first one, hence command-line options.
 *
 * Why: V8 (node 20) counts the buffer memory allocated since its last full collection against the old
 * generation's limit, and a receiving server allocates a buffer for every chunk that arrives (node's own
 * HTTP/2 and TLS buffers). Young buffers are only freed by the next young-generation collection, so between
 * two of those the count rises by all that arrived meanwhile (~30 MB at 200 MB/s with 8 MB semi-spaces),
 * while the limit lies only ~15 MB above the server's ~9 MB heap after a full collection. So a full
 * (mark-compact) collection followed nearly every young one: 40–50 per GiB received, ~0.6 s of CPU per GiB
 * on V8's helper threads (bench/replication/README.md, "Replica server: full collections and the page cache").
 *
 * - `--initial-old-space-size=64`: V8 lets full collections wait while the old generation (and that count)
 *   stays below its configured initial size. A floor, not a ceiling: a larger heap grows and is collected as
 *   before, so memory stays bounded (at most ~55 MB more garbage waits for a collection).
 * - `--max-semi-space-size=8`: the young generation stops growing at 8 MB semi-spaces (node's default grows
 *   them to 16 MB), so what arrives between two young collections stays well below that floor. With 32 and
 *   no cap, the full collections came back once the young generation had grown (4 GiB: 119–137 instead of 162).
 *
 * Measured with both: no full collection during a 2 GiB initial copy (before: ~45 per GiB).
 */
export const REPLICA_SERVER_NODE_OPTIONS: readonly string[] = ['--initial-old-space-size=64', '--max-semi-space-size=8'];
