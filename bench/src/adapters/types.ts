/**
 * The seam between the benchmark harness and one phase of the course. Each phase's
 * client API differs a little (phase 3 names a topic and partition, phase 8 adds an
 * idempotent producer), so the harness never imports a phase directly: it loads a
 * small per-phase adapter (`phase02.ts`, …) that starts that phase's broker as its own
 * process and wraps that phase's own client library in these few calls.
 *
 * Data flow: main.ts picks an adapter by `--phase N` → served.ts starts the broker
 * through it → each load worker thread loads the same adapter again by key and opens
 * its producers with `createProducer(port)`.
 */

/** A broker running as its own OS process, started by an adapter. */
export interface BrokerHandle {
  /** The TCP port it listens on (127.0.0.1). */
  readonly port: number;
  /** Process id of the process the harness spawned (tsx; the broker node process is its child). */
  readonly pid: number;
  /** Stop it (SIGTERM, then SIGKILL after a deadline) and wait for it to exit. */
  stop(): Promise<void>;
  /** User + system CPU time so far of the spawned process and all its descendants, in ms (NaN off Linux). */
  cpuTimeMs(): number;
}

/** One producer connection as the load generator sees it. */
export interface BenchProducer {
  /** Send these record values as one request; resolves when the target acknowledges them. */
  send(values: readonly Buffer[]): Promise<void>;
  /** Disconnect. */
  close(): Promise<void>;
}

/** What one fetch returned, as the consume benchmark counts it. */
export interface FetchOutcome {
  /** Records at or after the requested offset. */
  readonly records: number;
  /** Bytes of record values received. */
  readonly valueBytes: number;
  /** The offset to fetch next. */
  readonly nextOffset: number;
}

/** One consumer connection for the consume benchmark. */
export interface BenchConsumer {
  /** Fetch records from `offset` (may return none if nothing is there yet). */
  fetch(offset: number): Promise<FetchOutcome>;
  close(): Promise<void>;
}

/** The phase's Log opened in-process, for the embedded benchmark (not the served path). */
export interface EmbeddedLog {
  /** Append these values as one batch; resolves once the phase considers them durable. */
  append(values: readonly Buffer[]): Promise<void>;
  close(): Promise<void>;
}

/** Everything the harness needs from one phase (or from a non-phase target such as the fake). */
export interface TargetAdapter {
  /** Registry key, also sent to worker threads: `phase02`, `fake`, `redis`. */
  readonly key: string;
  /** Phase number, or null for a target that is not a course phase. */
  readonly phase: number | null;
  /** Human label for tables and charts. */
  readonly label: string;
  /** When the target acknowledges a produce, as stated in the workload (e.g. "after the broker's fsync"). */
  readonly ack: string;
  /** Start the broker in its own process with its data in `dir`. */
  startBroker?(dir: string): Promise<BrokerHandle>;
  /** Open one connected producer. */
  createProducer(port: number): Promise<BenchProducer>;
  /** Open one connected consumer (for `--mode consume`). */
  createConsumer?(port: number): Promise<BenchConsumer>;
  /** Open the phase's log in this process (for `--mode embedded`). */
  openEmbeddedLog?(dir: string): Promise<EmbeddedLog>;
}
