/**
 * Reading from people and from pipes. Prompts go to stderr so stdout stays clean for the
 * data; a hidden prompt turns the terminal's echo off, so a secret typed or pasted at it never
 * shows on screen nor in the scrollback.
 */
import { createInterface } from 'node:readline/promises';
import { CliError } from './output.js';

/** Whether stdin is a terminal a person can type at. */
export function stdinIsTerminal(): boolean {
  return process.stdin.isTTY === true;
}

const cancelled = (): CliError => new CliError('cancelled', 130);

/** Asks a question with echo on and returns the answer without its line ending. */
export async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  let onClose: () => void = () => undefined;
  const closedEarly = new Promise<never>((_resolve, reject) => {
    onClose = () => reject(cancelled());
    rl.once('close', onClose);
  });
  // Ctrl-C at a readline prompt emits SIGINT on the interface instead of killing the process.
  rl.once('SIGINT', () => rl.close());
  try {
    return await Promise.race([rl.question(question), closedEarly]);
  } finally {
    // Only our own listener: readline's own 'close' listener detaches it from stdin's
    // keypresses. Removed, the closed interface kept echoing what was typed afterwards,
    // a hidden prompt's private key included.
    rl.off('close', onClose);
    rl.close();
  }
}

/** Asks a yes/no question; only "y" or "yes" count as yes. */
export async function confirm(question: string): Promise<boolean> {
  const answer = await ask(`${question} [y/N] `);
  return /^\s*y(es)?\s*$/i.test(answer);
}

/**
 * Reads one line from the terminal with echo off. Enter ends it, Backspace and Ctrl-U edit
 * it, Ctrl-C and Ctrl-D (on an empty line) cancel; cursor and function keys are ignored.
 * Only one line: values with line breaks come from a file or stdin.
 */
export function askHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  // Echo off before the question shows, so nothing typed after seeing it is ever echoed.
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  process.stderr.write(question);

  return new Promise((resolve, reject) => {
    let chars: string[] = [];
    // Escape sequences (arrow keys...): skip from ESC to the sequence's final byte.
    let inEscape = false;
    let sawBracket = false;

    const finish = (error?: CliError): void => {
      stdin.removeListener('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(chars.join(''));
    };

    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (inEscape) {
          if (!sawBracket && (ch === '[' || ch === 'O')) {
            sawBracket = true;
            continue;
          }
          if (!sawBracket || (ch >= '@' && ch <= '~')) inEscape = false;
          continue;
        }
        switch (ch) {
          case '\r':
          case '\n':
            return finish();
          case '\u0003': // Ctrl-C
            return finish(cancelled());
          case '\u0004': // Ctrl-D
            if (chars.length === 0) return finish(cancelled());
            return finish();
          case '\u007f': // Backspace
          case '\b':
            chars.pop();
            continue;
          case '\u0015': // Ctrl-U
            chars = [];
            continue;
          case '\u001b':
            inEscape = true;
            sawBracket = false;
            continue;
          default:
            if (ch < ' ') continue;
            chars.push(ch);
        }
      }
    };
    stdin.on('data', onData);
  });
}

/**
 * Reads stdin to its end as bytes; refuses more than `limit` bytes rather than holding an
 * endless pipe in memory.
 */
export async function readStdin(limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer);
    size += buffer.length;
    if (size > limit) throw new CliError(`${what}: more than ${limit} bytes on stdin`, 2);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}
