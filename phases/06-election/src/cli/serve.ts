/**
 * `serve`: run a broker until SIGTERM or SIGINT, then shut it down gracefully (stop
 * accepting, finish in-flight requests, close the log). The broker's limits are
 * options, each setting the BrokerConfig field it names (server/config.ts); a value
 * the broker rejects is a usage error; the topic registry's bounds (topics/registry.ts)
 * and the group coordinator's (groups/coordinator.ts) are options too. main.ts hands
 * in the seams and the directory the broker keeps its files in unless `--dir` says
 * otherwise.
 */
import { type CoordinatorConfig, defaultCoordinatorConfig } from '../groups/coordinator.ts';
import { InvalidConfigError } from '../log/errors.ts';
import { Broker } from '../server/broker.ts';
import { type ClusterFile, ClusterFileError, parseClusterFile } from '../replication/cluster-file.ts';
import { type BrokerConfig, BROKER_DEFAULTS, resolveBrokerConfig } from '../server/config.ts';
import { DEFAULT_REGISTRY_LIMITS, type RegistryLimits } from '../topics/registry.ts';
import type { Seams } from '../seams/real.ts';
import { type Command, CommandError, type OptionSpec, UsageError, announcePid, firstLine, freshDir, integerOption } from './options.ts';

/** `serve` options for the broker's limits, and the BrokerConfig field each sets. */
const BROKER_LIMIT_OPTIONS: Record<string, keyof BrokerConfig> = {
  'max-connections': 'maxConnections',
  'max-in-flight': 'maxInFlightPerConnection',
  'idle-timeout-ms': 'idleTimeoutMs',
  'response-bytes-max-per-connection': 'responseBytesMaxPerConnection',
  'request-receive-ms-max': 'requestReceiveMsMax',
  'queued-request-bytes-max': 'queuedRequestBytesMax',
  'frame-bytes-max': 'frameBytesMax',
  'fetch-wait-ms-max': 'fetchWaitMsMax',
  'fetch-bytes-max': 'fetchBytesMax',
  'request-topics-max': 'requestTopicsMax',
  'request-items-max': 'requestItemsMax',
  'response-bytes-max': 'responseBytesMax',
  'shutdown-deadline-ms': 'shutdownDeadlineMs',
  'replica-fetch-wait-ms': 'replicaFetchWaitMs',
  'replica-fetch-bytes-max': 'replicaFetchBytesMax',
  'replica-fetch-backoff-ms': 'replicaFetchBackoffMs',
  'checkpoint-interval-ms': 'checkpointIntervalMs',
};

/** `serve` options for the topic registry's bounds (topics/registry.ts). */
const TOPIC_LIMIT_OPTIONS: Record<string, keyof RegistryLimits> = {
  'topics-max': 'topicsMax',
  'partitions-per-topic-max': 'partitionsPerTopicMax',
  'partitions-total-max': 'partitionsTotalMax',
};

/** `serve` options for the group coordinator's bounds, named like Kafka's broker configs (groups/coordinator.ts). */
const GROUP_LIMIT_OPTIONS: Record<string, keyof CoordinatorConfig> = {
  'group-min-session-timeout-ms': 'sessionTimeoutMsMin',
  'group-max-session-timeout-ms': 'sessionTimeoutMsMax',
  'group-max-size': 'membersMax',
  'groups-max': 'groupsMax',
  'offset-metadata-bytes-max': 'offsetMetadataBytesMax',
  'member-metadata-bytes-max': 'memberMetadataBytesMax',
  'member-metadata-bytes-total-max': 'memberMetadataBytesTotalMax',
};

/** The --help sections on serve's own options, after "Options:". */
export const SERVE_OPTIONS_USAGE: readonly string[] = [
  `Topics (serve):
  --auto-create-topics      create a topic the first time it is produced to (off by default)
  --default-partitions N    partitions of an auto-created topic (default ${BROKER_DEFAULTS.defaultPartitions})`,
  `Broker limits (serve):
  --max-connections N       connections at most (default ${BROKER_DEFAULTS.maxConnections})
  --max-in-flight N         unanswered requests per connection (default ${BROKER_DEFAULTS.maxInFlightPerConnection})
  --idle-timeout-ms N       close idle connections after N ms (default ${BROKER_DEFAULTS.idleTimeoutMs})
  --response-bytes-max-per-connection N  answer bytes a connection may hold unwritten (default ${BROKER_DEFAULTS.responseBytesMaxPerConnection})
  --request-receive-ms-max N  longest a request frame may take to arrive (default ${BROKER_DEFAULTS.requestReceiveMsMax})
  --queued-request-bytes-max N  bytes of frames still arriving, all connections (default ${BROKER_DEFAULTS.queuedRequestBytesMax})
  --frame-bytes-max N       largest request frame (default ${BROKER_DEFAULTS.frameBytesMax})
  --fetch-wait-ms-max N     longest fetch long poll (default ${BROKER_DEFAULTS.fetchWaitMsMax})
  --fetch-bytes-max N       most bytes one fetch reads, whatever the client asks (default ${BROKER_DEFAULTS.fetchBytesMax})
  --request-topics-max N    topics one request may name (default ${BROKER_DEFAULTS.requestTopicsMax})
  --request-items-max N     array elements one request may carry, all arrays together (default ${BROKER_DEFAULTS.requestItemsMax})
  --response-bytes-max N    largest answer to any request; at least fetch-bytes-max + the largest batch (default ${BROKER_DEFAULTS.responseBytesMax})
  --shutdown-deadline-ms N  graceful shutdown waits this long for in-flight requests (default ${BROKER_DEFAULTS.shutdownDeadlineMs})
  --topics-max N            topics at most, internal ones included (default ${DEFAULT_REGISTRY_LIMITS.topicsMax})
  --partitions-per-topic-max N  partitions of one topic at most (default ${DEFAULT_REGISTRY_LIMITS.partitionsPerTopicMax})
  --partitions-total-max N  partitions over all topics at most (default ${DEFAULT_REGISTRY_LIMITS.partitionsTotalMax})
  --group-min-session-timeout-ms N  shortest session a member may ask for (default ${defaultCoordinatorConfig.sessionTimeoutMsMin})
  --group-max-session-timeout-ms N  longest session a member may ask for (default ${defaultCoordinatorConfig.sessionTimeoutMsMax})
  --group-max-size N        members of one group at most (default ${defaultCoordinatorConfig.membersMax})
  --groups-max N            consumer groups held at most (default ${defaultCoordinatorConfig.groupsMax})
  --offset-metadata-bytes-max N  metadata bytes on one committed offset (default ${defaultCoordinatorConfig.offsetMetadataBytesMax})
  --member-metadata-bytes-max N  bytes of client id and subscription one group member may hold (default ${defaultCoordinatorConfig.memberMetadataBytesMax})
  --member-metadata-bytes-total-max N  bytes all groups' members may hold together (default ${defaultCoordinatorConfig.memberMetadataBytesTotalMax})`,
  `Replication (serve --cluster):
  --cluster FILE --id N     run broker N of the cluster file FILE, on the address the file gives it
  --replica-fetch-wait-ms N  how long a leader holds an idle follower fetch (default ${BROKER_DEFAULTS.replicaFetchWaitMs})
  --replica-fetch-bytes-max N  bytes a follower asks per partition per fetch (default ${BROKER_DEFAULTS.replicaFetchBytesMax})
  --replica-fetch-backoff-ms N  a follower's pause after a failed fetch (default ${BROKER_DEFAULTS.replicaFetchBackoffMs})
  --checkpoint-interval-ms N  how often high watermarks are checkpointed (default ${BROKER_DEFAULTS.checkpointIntervalMs})`,
];

/**
 * Read and check a cluster file; any problem is a usage error listing every mistake.
 * @example await readClusterFile(realSeams().storage, 'cluster.json')
 */
export async function readClusterFile(storage: Seams['storage'], path: string): Promise<ClusterFile> {
  const bytes = await storage.readFile(path);
  if (bytes === null) throw new UsageError(`cluster file ${path} does not exist`);
  let data: unknown;
  try {
    data = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new UsageError(`cluster file ${path} is not JSON: ${firstLine(e)}`);
  }
  try {
    return parseClusterFile(data);
  } catch (e) {
    if (e instanceof ClusterFileError) throw new UsageError(`cluster file ${path}: ${e.problems.join('; ')}`);
    throw e;
  }
}

/**
 * The `serve` command: a broker on `seams`, keeping its files in `defaultDir` unless
 * given `--dir`.
 * @example
 * const serve = serveCommand(realSeams(), '/tmp/commitlog');
 */
export function serveCommand(seams: Seams, defaultDir: string): Command {
  const options: OptionSpec = {
    dir: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    'segment-bytes': { type: 'string' },
    fresh: { type: 'boolean' },
    'auto-create-topics': { type: 'boolean' },
    'default-partitions': { type: 'string' },
    cluster: { type: 'string' },
    id: { type: 'string' },
    controller: { type: 'string' },
  };
  for (const name of [...Object.keys(BROKER_LIMIT_OPTIONS), ...Object.keys(TOPIC_LIMIT_OPTIONS), ...Object.keys(GROUP_LIMIT_OPTIONS)]) options[name] = { type: 'string' };
  return {
    name: 'serve',
    usage: `  serve [--dir D] [--fresh] [--port P] [--host H] [--auto-create-topics] [--default-partitions N] [limits]
  serve --cluster FILE --id N --dir D [limits]
  serve --controller H:P --id N --dir D [--port P] [limits]
                       run a broker (the default); prints "listening on H:P" once it
                       accepts connections; SIGTERM or SIGINT shuts it down gracefully.
                       --fresh: remove the data directory first, so offsets start at 0
                       (a --dir only if all in it is what these commands write).
                       With --cluster: broker N of the cluster file, replicating its topics.
                       With --controller (phase 6): broker N registers with the controller
                       at H:P, which elects leaders and creates topics.
                       Defaults: --dir ${defaultDir}, --port ${BROKER_DEFAULTS.port}, --host ${BROKER_DEFAULTS.host}`,
    options,
    async run(values) {
      const config: Partial<BrokerConfig> = {
        dir: typeof values.dir === 'string' && values.dir !== '' ? values.dir : defaultDir,
        port: integerOption(values, 'port', 0) ?? BROKER_DEFAULTS.port,
        host: typeof values.host === 'string' ? values.host : BROKER_DEFAULTS.host,
        autoCreateTopics: values['auto-create-topics'] === true,
        defaultPartitions: integerOption(values, 'default-partitions', 1) ?? BROKER_DEFAULTS.defaultPartitions,
      };
      for (const [option, key] of Object.entries(BROKER_LIMIT_OPTIONS)) {
        const n = integerOption(values, option, 0);
        if (n !== undefined) Object.assign(config, { [key]: n });
      }
      const topicLimits: Partial<RegistryLimits> = {};
      for (const [option, key] of Object.entries(TOPIC_LIMIT_OPTIONS)) {
        const n = integerOption(values, option, 0);
        if (n !== undefined) topicLimits[key] = n;
      }
      config.topicLimits = topicLimits;
      const groupLimits: Partial<CoordinatorConfig> = {};
      for (const [option, key] of Object.entries(GROUP_LIMIT_OPTIONS)) {
        const n = integerOption(values, option, 0);
        if (n !== undefined) groupLimits[key] = n;
      }
      config.groups = groupLimits;
      const segmentBytesMax = integerOption(values, 'segment-bytes', 1);
      if (segmentBytesMax !== undefined) config.log = { segmentBytesMax };
      const clusterPath = typeof values.cluster === 'string' ? values.cluster : undefined;
      const brokerId = integerOption(values, 'id', 0);
      const controller = typeof values.controller === 'string' ? values.controller : undefined;
      if (controller !== undefined) {
        if (clusterPath !== undefined) throw new UsageError('--controller (phase 6) and --cluster (phase 5) exclude each other');
        if (brokerId === undefined) throw new UsageError('--controller needs --id N, this broker\'s id');
        const m = /^([^:\s]+):(\d+)$/.exec(controller);
        const port = m === null ? Number.NaN : Number(m[2]);
        if (m === null || !Number.isSafeInteger(port) || port < 1 || port > 65_535) throw new UsageError(`--controller must be HOST:PORT, got ${JSON.stringify(controller)}`);
        Object.assign(config, { controller: { host: m[1] as string, port, brokerId } });
        if (values.port === undefined) config.port = 0;
      } else if ((clusterPath === undefined) !== (brokerId === undefined)) throw new UsageError('--cluster and --id go together');
      if (clusterPath !== undefined && brokerId !== undefined) {
        if (values.port !== undefined || values.host !== undefined) throw new UsageError('with --cluster, the cluster file gives the broker its host and port; drop --port/--host');
        const file = await readClusterFile(seams.storage, clusterPath);
        const me = file.brokers.find((b) => b.id === brokerId);
        if (me === undefined) throw new UsageError(`broker id ${brokerId} is not in ${clusterPath} (ids: ${file.brokers.map((b) => b.id).join(', ')})`);
        Object.assign(config, { cluster: { file, brokerId }, host: me.host, port: me.port });
      }

      let broker: Broker;
      try {
        if (values.fresh === true) {
          const { dir } = resolveBrokerConfig(config); // a bad value is refused before anything is removed
          await freshDir(seams.storage, dir, dir === defaultDir);
        }
        broker = await Broker.start(config, seams);
      } catch (e) {
        if (e instanceof InvalidConfigError) throw new UsageError(firstLine(e));
        if (e instanceof CommandError) throw e;
        if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
          throw new CommandError(
            `cannot start the broker: ${config.host}:${config.port} is already in use; is a broker (of this phase or another) still running? Stop it, or pick another port with --port`,
          );
        }
        throw new CommandError(`cannot start the broker: ${firstLine(e)}`);
      }
      // Handlers first, then "listening": until Node has a handler, a signal gets the OS's
      // default action and kills us, so a supervisor (or test) that sends SIGINT as soon as
      // it reads the line would otherwise sometimes see a crash instead of a clean stop.
      const signalled = new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGTERM', () => resolve('SIGTERM'));
        process.once('SIGINT', () => resolve('SIGINT'));
      });
      announcePid();
      process.stderr.write(`data in ${config.dir}: ${broker.topics().length} topics\n`);
      if (config.cluster !== undefined) process.stderr.write(`broker ${config.cluster.brokerId} of a cluster of ${config.cluster.file.brokers.length}\n`);
      if (config.controller !== undefined) process.stderr.write(`broker ${config.controller.brokerId}, controller at ${config.controller.host}:${config.controller.port}\n`);
      process.stdout.write(`listening on ${broker.host}:${broker.port}\n`);
      const signal = await signalled;
      // A second signal while shutting down means "now": exit without waiting for the deadline.
      const forceExit = (): never => process.exit(1);
      process.once('SIGTERM', forceExit);
      process.once('SIGINT', forceExit);
      process.stderr.write(`${signal}: shutting down (stop accepting, finish in-flight requests, close the log)\n`);
      await broker.close();
      process.stderr.write('broker stopped cleanly\n');
    },
  };
}
