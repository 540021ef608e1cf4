/**
 * The .env dialect `ductape secrets export` writes and `ductape secrets import` reads.
 *
 * Written so that two readers agree and no shell runs anything: our own import and the
 * `dotenv` npm package (which reads quotes literally, turning only `\n` and `\r` back inside
 * double quotes) read every written value back byte for byte, and sourcing the file with sh,
 * dash or bash runs no command, whatever the values hold:
 *   KEY='value'   when the value has no `'`, no carriage return and does not end with `\`:
 *                 literal everywhere (line breaks kept as they are), and sh reads it exactly.
 *   KEY="value"   otherwise, when the value has no `"`, `` ` `` or `\`, and no `$` before
 *                 `(`, `{` or `[`: line feeds and carriage returns written as `\n` and `\r`.
 *                 sh runs nothing in it, though it would expand a `$NAME` in it.
 *   refused       anything else (a `'` or carriage return together with `"`, `` ` ``, `\` or
 *                 `$(`...): no line can be both inert in sh and exact in the dotenv package.
 *                 The export names those keys and points at --format json or shell.
 *
 * Read: everything written above, plus the common forms: blank lines, `# comments`,
 * `export KEY=value`, spaces around `=`, `KEY='literal'` (no escapes at all, may span lines),
 * double-quoted values that span lines with the escapes `\\`, `\"`, `\$`, `\n`, `\r`, `\t`
 * and `\'` (any other backslash is kept as it is; earlier versions wrote `\\`, `\"` and `\$`),
 * and unquoted values, trimmed, where a `#` at their start or after a space or tab starts a
 * comment. CRLF line endings are read as LF. A line that is none of these, a quote that never
 * closes, text after a closing quote, or a key defined twice is a problem with its line
 * number; the caller sends nothing when there is any.
 */

/**
 * The value as written in a .env file (see the top of this file), or undefined when no
 * quoting is both inert in sh and exact in the dotenv package.
 */
export function quoteDotenv(value: string): string | undefined {
  if (!value.includes("'") && !value.includes('\r') && !value.endsWith('\\')) return `'${value}'`;
  if (/["`\\]|\$[({[]/.test(value)) return undefined;
  return `"${value.replace(/\r/g, '\\r').replace(/\n/g, '\\n')}"`;
}

const READ_ESCAPES: Record<string, string> = {
  '\\': '\\',
  '"': '"',
  $: '$',
  n: '\n',
  r: '\r',
  t: '\t',
  "'": "'",
};

export interface DotenvEntry {
  key: string;
  value: string;
  /** 1-based line the entry starts on. */
  line: number;
}

export interface FileProblem {
  line: number;
  message: string;
}

/** A key as import accepts it: the characters secret keys may hold. */
const KEY_AND_EQUALS = /^[ \t]*(?:export[ \t]+)?([A-Za-z0-9_.-]+)[ \t]*=[ \t]*/;

class Cursor {
  pos = 0;
  line = 1;
  constructor(readonly text: string) {}

  /** The rest of the current physical line, without its line feed. */
  restOfLine(): string {
    const end = this.text.indexOf('\n', this.pos);
    return this.text.slice(this.pos, end === -1 ? this.text.length : end);
  }

  /** Moves past the current physical line and its line feed. */
  nextLine(): void {
    const end = this.text.indexOf('\n', this.pos);
    this.pos = end === -1 ? this.text.length : end + 1;
    if (end !== -1) this.line += 1;
  }

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }
}

/** Reads a quoted value from the opening quote on; undefined when the quote never closes. */
function readQuoted(cursor: Cursor, quote: '"' | "'"): string | undefined {
  const { text } = cursor;
  let value = '';
  let i = cursor.pos + 1;
  while (i < text.length) {
    const ch = text[i] as string;
    if (ch === quote) {
      cursor.pos = i + 1;
      return value;
    }
    if (ch === '\n') cursor.line += 1;
    if (ch === '\\' && quote === '"' && i + 1 < text.length) {
      const next = text[i + 1] as string;
      const escaped = READ_ESCAPES[next];
      if (escaped !== undefined) {
        value += escaped;
        i += 2;
        continue;
      }
    }
    value += ch;
    i += 1;
  }
  return undefined;
}

/** An unquoted value: up to a comment (a `#` at the start or after a space or tab), trimmed. */
function unquoted(rest: string): string {
  const comment = /(^|[ \t])#/.exec(rest);
  return (comment ? rest.slice(0, comment.index) : rest).trim();
}

/** Why a line is not `KEY=value`; never quotes the line, which may hold a value. */
function describeBadLine(raw: string): string {
  const equals = raw.indexOf('=');
  if (equals === -1) return 'expected KEY=value (no = on this line)';
  const key = raw
    .slice(0, equals)
    .trim()
    .replace(/^export[ \t]+/, '');
  if (key === '') return 'expected KEY=value: the key is missing';
  return 'the key before = may only hold letters, digits, _ - and . (no spaces)';
}

/** Parses a whole .env file: every entry, and every problem (see the top of this file). */
export function parseDotenv(source: string): { entries: DotenvEntry[]; problems: FileProblem[] } {
  const text = source.replace(/^\uFEFF/, '').replace(/\r\n/g, '\n');
  const cursor = new Cursor(text);
  const entries: DotenvEntry[] = [];
  const problems: FileProblem[] = [];
  const firstLine = new Map<string, number>();

  while (!cursor.atEnd()) {
    const raw = cursor.restOfLine();
    const line = cursor.line;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) {
      cursor.nextLine();
      continue;
    }
    const match = KEY_AND_EQUALS.exec(raw);
    if (!match) {
      problems.push({ line, message: describeBadLine(raw) });
      cursor.nextLine();
      continue;
    }
    const key = match[1] as string;
    cursor.pos += match[0].length;
    const first = cursor.text[cursor.pos];
    let value: string;
    if (first === '"' || first === "'") {
      const quoted = readQuoted(cursor, first);
      if (quoted === undefined) {
        const kind = first === '"' ? 'double' : 'single';
        problems.push({
          line,
          message: `the ${kind}-quoted value of '${key}' never ends (no closing ${first})`,
        });
        break;
      }
      value = quoted;
      const after = cursor.restOfLine();
      if (!/^[ \t]*(#.*)?$/.test(after)) {
        problems.push({ line: cursor.line, message: `unexpected text after the closing quote of '${key}'` });
      }
    } else {
      value = unquoted(cursor.restOfLine());
    }
    cursor.nextLine();

    const earlier = firstLine.get(key);
    if (earlier !== undefined) {
      problems.push({ line, message: `'${key}' is already defined on line ${earlier}` });
      continue;
    }
    firstLine.set(key, line);
    entries.push({ key, value, line });
  }
  return { entries, problems };
}
