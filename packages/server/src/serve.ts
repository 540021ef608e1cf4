/**
 * The server process: read the configuration, start the server, stop it cleanly on SIGTERM
 * or SIGINT (stop accepting, finish requests in flight, close the store, exit 0).
 */
import { ConfigError, loadConfig } from './config.js';
import { createLogger, logDestination, startServer } from './server.js';

export async function runServerProcess(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`ductape: bad configuration: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config, await logDestination(config));
  let server;
  try {
    server = await startServer(config, logger);
  } catch (error) {
    logger.fatal({ err: error }, `could not start: ${(error as Error).message}`);
    process.exit(1);
  }
  logger.info({ url: server.url, dataDir: config.dataDir }, `ductape listening on ${server.url}`);
  if (server.runtime.store.migration.from === 0) {
    // A brand-new store: say, once, what a newcomer does next.
    logger.info(
      'new store: create a workspace and its owner with `npx ductape-server workspace create --name <name>` ' +
        '(same environment as this server)',
    );
  }

  const stop = (signal: string): void => {
    logger.info({ signal }, 'shutting down: finishing requests in flight');
    server.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
