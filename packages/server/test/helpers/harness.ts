/**
 * Test harness: a real server on a free 127.0.0.1 port with its own fresh data dir, and
 * helpers to make users and SDK clients. Everything goes over real HTTP.
 */
import Ductape from '@ductape/sdk';
import type { Role } from '@ductape/sdk';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logging.js';
import { startServer, type RunningServer } from '../../src/main.js';
import { freshPgSchema, newMasterKey, PG_URL, type BackendName } from './backends.js';

export interface Credentials {
  workspace_id: string;
  user_id: string;
  private_key: string;
}

export interface TestServer {
  url: string;
  backend: BackendName;
  /** The environment the server was configured from (store selection, master key...). */
  env: Record<string, string>;
  dataDir: string;
  server: RunningServer;
  /** The owner of a workspace made for this server. */
  owner: Credentials;
  /** Another user in the owner's workspace (or in `workspaceId`). */
  newUser(role: Role, workspaceId?: string): Promise<Credentials>;
  /** A fresh workspace with its own owner. */
  newWorkspace(name?: string): Promise<Credentials>;
  client(credentials: Credentials): Ductape;
  stop(): Promise<void>;
}

export const SERVER_PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** `ductape`, the command line for people and programs (package @ductape/cli), as npm links it. */
export const CLI_ENTRY = join(SERVER_PACKAGE, '..', 'cli', 'bin', 'ductape.js');
/** `ductape-server`, the operator commands, as npm links it. */
export const OPERATOR_ENTRY = join(SERVER_PACKAGE, 'bin', 'ductape-server.js');
export const MAIN_ENTRY = join(SERVER_PACKAGE, 'dist', 'main.js');

export function tempDir(prefix = 'ductape-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * The environment that points a server (or an operator command) at a fresh store of the
 * given backend, and a cleanup that removes it. PostgreSQL needs a master key in the
 * environment (nodes share it); one is made unless `env` brings its own.
 */
export async function storeEnv(
  backend: BackendName,
  env: Record<string, string> = {},
): Promise<{ env: Record<string, string>; cleanup(): Promise<void> }> {
  const ownDataDir = env.DUCTAPE_DATA_DIR === undefined;
  const dataDir = env.DUCTAPE_DATA_DIR ?? tempDir();
  const removeDataDir = async (): Promise<void> => {
    if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  if (backend === 'sqlite') {
    return { env: { ...env, DUCTAPE_DATA_DIR: dataDir }, cleanup: removeDataDir };
  }
  const schema = env.DUCTAPE_PG_SCHEMA === undefined ? await freshPgSchema() : undefined;
  return {
    env: {
      DUCTAPE_MASTER_KEY: newMasterKey(),
      DATABASE_URL: PG_URL,
      ...(schema ? { DUCTAPE_PG_SCHEMA: schema.schema } : {}),
      ...env,
      DUCTAPE_DATA_DIR: dataDir,
    },
    async cleanup() {
      await schema?.drop();
      await removeDataDir();
    },
  };
}

/**
 * Sign-in and service-token limits high enough for suites that sign in (and fail) many
 * times from 127.0.0.1; the limit suites set their own. Per-variable, so `env` overrides each.
 */
const RELAXED_SIGNIN_LIMITS = {
  DUCTAPE_SIGNIN_FAILURES_PER_IP: '100000',
  DUCTAPE_SIGNIN_FAILURES_PER_USER: '100000',
  DUCTAPE_TOKEN_EXCHANGES_PER_IP: '100000',
  DUCTAPE_SERVICE_TOKEN_FAILURES_PER_IP: '100000',
};

export async function startTestServer(
  env: Record<string, string> = {},
  backend: BackendName = 'sqlite',
): Promise<TestServer> {
  const store = await storeEnv(backend, env);
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    ...RELAXED_SIGNIN_LIMITS,
    ...store.env,
  });
  let server: RunningServer;
  try {
    server = await startServer(config, createLogger(config));
  } catch (error) {
    await store.cleanup();
    throw error;
  }
  const members = server.runtime.members;
  const owner = await members.createWorkspace('test workspace');
  return {
    url: server.url,
    backend,
    env: store.env,
    dataDir: config.dataDir,
    server,
    owner,
    newUser: (role, workspaceId = owner.workspace_id) => members.createUser(workspaceId, role),
    newWorkspace: (name = 'other workspace') => members.createWorkspace(name),
    client: (credentials) => new Ductape({ ...credentials, url: server.url }),
    async stop() {
      await server.close();
      await store.cleanup();
    },
  };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `ductape` command (npm test builds first) with the given environment. */
export function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  return runEntry(CLI_ENTRY, args, options);
}

/** Runs the built `ductape-server` operator command with the given environment. */
export function runOperator(args: string[], options: RunOptions = {}): Promise<CliResult> {
  return runEntry(OPERATOR_ENTRY, args, options);
}

interface RunOptions {
  env?: Record<string, string | undefined>;
  input?: string;
  cwd?: string;
}

function runEntry(entry: string, args: string[], options: RunOptions): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [entry, ...args], {
      cwd: options.cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}
