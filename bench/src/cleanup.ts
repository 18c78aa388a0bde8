/**
 * Everything the harness started (broker processes, redis-server, temporary data
 * directories) is registered here, so Ctrl-C still stops the processes and removes
 * the directories before the harness exits.
 */
const pending = new Set<() => Promise<void>>();
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    // Ctrl-C reaches this process twice (directly, and relayed by the tsx launcher):
    // keep cleaning up rather than letting the second signal kill us half-way.
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${signal}: stopping what the benchmark started…\n`);
    void Promise.allSettled([...pending].map((fn) => fn())).then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/**
 * Run `body` with `release` registered for signals; `release` always runs afterwards.
 * @example
 * await withCleanup(() => broker.stop(), () => runServed(...));
 */
export async function withCleanup<T>(release: () => Promise<void>, body: () => Promise<T>): Promise<T> {
  install();
  pending.add(release);
  try {
    return await body();
  } finally {
    pending.delete(release);
    await release();
  }
}
