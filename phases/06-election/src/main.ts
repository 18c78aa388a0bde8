/**
 * The phase-6 command line: `npm run phase 6 -- <command> [options]`. It is the top of
 * this phase's data flow (CLI → client → wire → server → partitions → log → segment →
 * storage). Commands:
 *
 *   serve         (default) run a broker until SIGTERM/SIGINT, then shut down gracefully
 *   cluster       start a controller and N brokers as child processes, create topic demo; a live leader/epoch/ISR/HW table
 *   controller    run the controller (phase 6): registrations, leases, elections, ISR changes, a metadata log
 *   failover-bench  kill -9 the leader under acks=all load, N times: failover time and missing records
 *   create-topic  create a topic with N partitions (CreateTopics)
 *   topics        list the broker's topics, partitions and settings (Metadata)
 *   describe-topic  one line per partition: leader, replicas, ISR, high watermark, log end offset
 *   produce       each stdin line becomes one record sent to a topic; prints `<partition>\t<offset>`
 *   consume       prints the records of one partition or of every partition of a topic
 *   consume --group  the same, as a member of a consumer group, committing as it goes
 *   groups        list the consumer groups (ListGroups)
 *   describe-group  one group's members, assignment, committed offsets and lag
 *   demo          consumer groups: three members, one killed, takeover and offsets, narrated
 *   timeline      eager versus cooperative rebalancing, generation by generation
 *   offsets-bench commit latency and restart replay of the offsets store, with and without compaction
 *   topics-demo   phase 3's demo: topics, partitions, keys and the sticky partitioner
 *   wire-demo     phase 2's demo: a producer and a consumer, every frame shown in hex
 *   log-demo      phase 1's narrated walk-through of the log on disk
 *   measure       the writeup's numbers: partitions, partitioners, create-topic latency
 *   append    (phase 1, no broker) each stdin line becomes one record; prints each offset
 *   read      (phase 1, no broker) prints `<offset>\t<value>` lines
 *   dump      prints the registry, then per partition segments, index entries, batches and records (read-only)
 *
 * This file is the command table: it picks the real seams, hands them to the commands
 * (src/cli/), lists the commands and assembles --help from their entries. It is also
 * the only place that decides exit codes: script output goes to stdout; errors are one
 * line on stderr starting `error: `, with exit status 2 for usage errors and 1 for
 * runtime errors, never a stack trace.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientCommands } from './cli/clients.ts';
import { clusterCommand } from './cli/cluster.ts';
import { controllerCommand } from './cli/controller.ts';
import { failoverBenchCommand } from './cli/failover-bench.ts';
import { measureCommand, narratedDemo, offsetsBenchCommand, timelineCommand } from './cli/demos.ts';
import { groupCommands, withGroupOption } from './cli/groups.ts';
import { LOG_OPTIONS_USAGE, logCommands } from './cli/log.ts';
import { type Command, UsageError, dispatch, firstLine, flushed, formatUsage } from './cli/options.ts';
import { SERVE_OPTIONS_USAGE, serveCommand } from './cli/serve.ts';
import { DATA_DIR_DUMP, topicCommands } from './cli/topics.ts';
import { runGroupDemo } from './demos/group-demo.ts';
import { runDemo } from './demos/log-demo.ts';
import { runTopicsDemo } from './demos/topics-demo.ts';
import { runWireDemo } from './demos/wire-demo.ts';
import { InvalidConfigError } from './log/errors.ts';
import { realSeams } from './seams/real.ts';

/** Where `serve` keeps its data unless told otherwise: outside the repository, kept between runs. */
const DEFAULT_SERVE_DIR = join(tmpdir(), 'commitlog-06-election');

const seams = realSeams();
const serve = serveCommand(seams, DEFAULT_SERVE_DIR);
const cluster = clusterCommand(seams, join(tmpdir(), 'commitlog-06-cluster'));
const controller = controllerCommand(seams, join(tmpdir(), 'commitlog-06-controller'));
const failoverBench = failoverBenchCommand(seams);
const { createTopic, topics, describeTopic } = topicCommands(seams);
const { produce, consume: consumeWithoutGroups } = clientCommands(seams);
const consume = withGroupOption(consumeWithoutGroups, seams);
const { groups, describeGroup } = groupCommands(seams);
const demo = narratedDemo(
  'demo',
  `  demo                 consumer groups, narrated: three members share a topic, one is
                       killed, its partitions are taken over; offsets survive a restart`,
  (say) => runGroupDemo(seams.clock, say),
);
const timeline = timelineCommand();
const offsetsBench = offsetsBenchCommand(seams.clock);
const topicsDemo = narratedDemo('topics-demo', "  topics-demo          phase 3's demo: topics, partitions, keys and the sticky partitioner", runTopicsDemo);
const wireDemo = narratedDemo('wire-demo', "  wire-demo            phase 2's demo: producer and consumer, every frame in hex", runWireDemo);
const logDemo = narratedDemo('log-demo', "  log-demo             phase 1's narrated walk-through of the log on disk", runDemo);
const measure = measureCommand();
const { append, read, dump } = logCommands(seams, DATA_DIR_DUMP);

/** Every command, in the order the "unknown command" message lists them. */
const COMMANDS: readonly Command[] = [
  serve, cluster, controller, failoverBench, produce, consume, createTopic, topics, describeTopic, groups, describeGroup, demo, timeline, offsetsBench, topicsDemo, wireDemo, measure, logDemo, append, read, dump,
];

const USAGE = formatUsage({
  synopsis: 'Usage: npm run phase 6 -- <command> [options]',
  about: `A controller elects each partition's leader from the ISR and numbers every leadership
with an epoch that fences the old leader (phase 6).`,
  commands: [serve, cluster, controller, failoverBench, createTopic, topics, describeTopic, produce, consume, groups, describeGroup, demo, timeline, offsetsBench, topicsDemo, wireDemo, logDemo, measure, append, read, dump],
  sections: [
    `Options:\n  --dir D              the log directory, or the broker's data directory (append and serve create it)\n${LOG_OPTIONS_USAGE}`,
    ...SERVE_OPTIONS_USAGE,
  ],
});

/** Run one command line; resolves with the process exit status. */
async function main(argv: readonly string[]): Promise<number> {
  try {
    await dispatch(argv, { commands: COMMANDS, fallback: serve, usage: USAGE });
    return 0;
  } catch (e) {
    process.stderr.write(`error: ${firstLine(e)}\n`);
    // A config value out of range came from an option: a usage error too.
    return e instanceof UsageError || e instanceof InvalidConfigError ? 2 : 1;
  }
}

// `read | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  process.stderr.write(`error: stdout: ${e.message}\n`);
  process.exit(1);
});

const status = await main(process.argv.slice(2));
// Exit explicitly (an unread stdin must not keep us alive), but only once stdout and
// stderr are flushed: they can be asynchronous pipes, and exit drops queued output.
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(status);
