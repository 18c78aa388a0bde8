/**
 * `controller`: run the cluster's controller (phase 6) until SIGTERM or SIGINT. It prints
 * `listening on H:P` once it accepts connections, like `serve`; brokers are then started
 * with `serve --controller H:P`. Its only state is the metadata log in `--dir`.
 */
import { Controller, CONTROLLER_DEFAULTS, type ControllerConfig } from '../controller/controller.ts';
import type { Seams } from '../seams/real.ts';
import { type Command, CommandError, UsageError, announcePid, firstLine, freshDir, integerOption } from './options.ts';

/**
 * The `controller` command.
 * @example
 * const controller = controllerCommand(realSeams(), '/tmp/commitlog-controller');
 */
export function controllerCommand(seams: Seams, defaultDir: string): Command {
  return {
    name: 'controller',
    usage: `  controller [--dir D] [--fresh] [--port P] [--host H] [--session-timeout-ms N]
                       run the controller (phase 6): broker registrations, leases, leader
                       elections and ISR changes, kept in a metadata log in D; prints
                       "listening on H:P". Brokers join with serve --controller H:P.
                       Defaults: --dir ${defaultDir}, --port ${CONTROLLER_DEFAULTS.port}, --session-timeout-ms ${CONTROLLER_DEFAULTS.sessionTimeoutMs}`,
    options: {
      dir: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      fresh: { type: 'boolean' },
      'session-timeout-ms': { type: 'string' },
    },
    async run(values) {
      const config: Partial<ControllerConfig> & { dir: string } = {
        dir: typeof values.dir === 'string' && values.dir !== '' ? values.dir : defaultDir,
        port: integerOption(values, 'port', 0) ?? CONTROLLER_DEFAULTS.port,
        host: typeof values.host === 'string' ? values.host : CONTROLLER_DEFAULTS.host,
      };
      const session = integerOption(values, 'session-timeout-ms', 10);
      if (session !== undefined) config.sessionTimeoutMs = session;
      let controller: Controller;
      try {
        if (values.fresh === true) await freshDir(seams.storage, config.dir, config.dir === defaultDir);
        controller = await Controller.start(config, seams);
      } catch (e) {
        if (e instanceof RangeError) throw new UsageError(firstLine(e));
        if (e instanceof CommandError) throw e;
        if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
          throw new CommandError(`cannot start the controller: ${config.host}:${config.port} is already in use; pick another port with --port`);
        }
        throw new CommandError(`cannot start the controller: ${firstLine(e)}`);
      }
      const signalled = new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGTERM', () => resolve('SIGTERM'));
        process.once('SIGINT', () => resolve('SIGINT'));
      });
      announcePid();
      const image = controller.image;
      process.stderr.write(`metadata log in ${config.dir}: ${image.nextOffset} records, ${image.brokers.size} brokers, ${image.topics.size} topics\n`);
      process.stdout.write(`listening on ${controller.host}:${controller.port}\n`);
      const signal = await signalled;
      const forceExit = (): never => process.exit(1);
      process.once('SIGTERM', forceExit);
      process.once('SIGINT', forceExit);
      process.stderr.write(`${signal}: shutting down\n`);
      await controller.close();
      process.stderr.write('controller stopped cleanly\n');
    },
  };
}
