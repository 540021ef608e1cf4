/**
 * `ductape run`'s child process: started with inherited stdio, sent the signals ductape
 * receives, and waited for. Its exit code becomes ours; a death by signal becomes 128 + the
 * signal's number, as in a shell. A command that cannot be started is 127 (not found) or 126
 * (not executable), also as in a shell.
 *
 * No double delivery: in a terminal, Ctrl-C, Ctrl-\ and a hang-up reach every process of the
 * foreground group, the child included, so SIGINT, SIGQUIT and SIGHUP are not forwarded
 * there (ductape only stays alive to report the child's exit). Without a terminal (a
 * container, a supervisor, CI) nothing else signals the child, so all six are forwarded. No
 * signal is sent once the child has exited.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { isatty } from 'node:tty';
import { CliError } from './output.js';

export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = [
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
];
const TERMINAL_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set(['SIGINT', 'SIGQUIT', 'SIGHUP']);

/** Whether ductape runs in a terminal, where the terminal itself signals the whole group. */
function inTerminal(): boolean {
  return isatty(0) || isatty(1) || isatty(2);
}

function startError(command: string, error: NodeJS.ErrnoException): CliError {
  if (error.code === 'ENOENT') return new CliError(`${command}: command not found`, 127);
  if (error.code === 'EACCES') return new CliError(`${command}: permission denied`, 126);
  return new CliError(`${command}: cannot be started (${error.code ?? error.message})`, 126);
}

/** Runs the command to its end and resolves with the exit code ductape should exit with. */
export function runChild(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', env });
    const terminal = inTerminal();
    let exited = false;
    const forward = (signal: NodeJS.Signals): void => {
      if (exited || (terminal && TERMINAL_SIGNALS.has(signal))) return;
      child.kill(signal);
    };
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
    const stopForwarding = (): void => {
      exited = true;
      for (const signal of FORWARDED_SIGNALS) process.removeListener(signal, forward);
    };

    child.once('error', (error: NodeJS.ErrnoException) => {
      // Only start failures land here: kill() is never called after exit.
      stopForwarding();
      reject(startError(command, error));
    });
    child.once('exit', (code, signal) => {
      stopForwarding();
      if (signal !== null) resolve(128 + (constants.signals[signal] ?? 0));
      else resolve(code ?? 1);
    });
  });
}
