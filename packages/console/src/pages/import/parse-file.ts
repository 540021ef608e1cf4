/**
 * Reads a pasted or dropped `.env` or JSON file into items to import, and checks each the
 * way the server will (key shape, value present and at most 64 KiB), so the preview shows
 * what will fail before anything is sent. The server still validates everything.
 *
 * JSON: an object `{ "KEY": "value" }`, or an array of `{ key, value, description?,
 * token_type?, scope?, envs?, expires_at? }` (what `ductape export --format json` writes).
 * .env: `KEY=value` lines, `export KEY=value`, `#` comments, single- or double-quoted
 * values (double quotes understand \n, \t, \" and \\), multi-line quoted values.
 */
import type { CreateSecretInput } from '@ductape/sdk';

export interface ParsedItem {
  input: CreateSecretInput;
  /** Why the server would refuse it, when it would. */
  problem: string | null;
}

export interface ParsedFile {
  format: 'env' | 'json';
  items: ParsedItem[];
  /** A problem with the file as a whole (unreadable JSON, a line that is not KEY=value). */
  errors: string[];
}

const KEY = /^[A-Za-z0-9_.-]{1,128}$/;
const MAX_VALUE_BYTES = 64 * 1024;

function problemOf(input: CreateSecretInput, seen: Set<string>): string | null {
  if (typeof input.key !== 'string' || !KEY.test(input.key) || input.key === '.' || input.key === '..') {
    return 'key: 1-128 characters of A-Z a-z 0-9 _ - .';
  }
  if (seen.has(input.key)) return `key: '${input.key}' appears more than once in the file`;
  if (typeof input.value !== 'string' || input.value === '') return 'value: must not be empty';
  if (new TextEncoder().encode(input.value).length > MAX_VALUE_BYTES) return 'value: over 64 KiB';
  return null;
}

function check(inputs: CreateSecretInput[]): ParsedItem[] {
  const seen = new Set<string>();
  return inputs.map((input) => {
    const problem = problemOf(input, seen);
    if (typeof input.key === 'string') seen.add(input.key);
    return { input, problem };
  });
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };

export function parseEnv(text: string): { inputs: CreateSecretInput[]; errors: string[] } {
  const inputs: CreateSecretInput[] = [];
  const errors: string[] = [];
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([^=\s]+)\s*=\s*(.*)$/.exec(line);
    if (!match) {
      errors.push(`line ${i + 1}: not KEY=value`);
      continue;
    }
    const key = match[1] as string;
    let rest = match[2] as string;
    const quote = rest[0];
    if (quote === '"' || quote === "'") {
      // A quoted value may run over several lines, up to its closing quote.
      let body = rest.slice(1);
      let end = findClosing(body, quote);
      while (end < 0 && i + 1 < lines.length) {
        i += 1;
        body += `\n${lines[i] as string}`;
        end = findClosing(body, quote);
      }
      if (end < 0) {
        errors.push(`${key}: the quote is never closed`);
        continue;
      }
      rest = body.slice(0, end);
      const value =
        quote === '"' ? rest.replace(/\\([nrt"\\])/g, (_, c: string) => ESCAPES[c] as string) : rest;
      inputs.push({ key, value });
    } else {
      // Unquoted: an inline comment starts at " #".
      inputs.push({ key, value: rest.replace(/\s+#.*$/, '').trim() });
    }
  }
  return { inputs, errors };
}

function findClosing(body: string, quote: string): number {
  for (let i = 0; i < body.length; i++) {
    if (quote === '"' && body[i] === '\\') i += 1;
    else if (body[i] === quote) return i;
  }
  return -1;
}

const FIELDS = ['key', 'value', 'description', 'token_type', 'scope', 'envs', 'expires_at'] as const;

function fromJson(data: unknown): { inputs: CreateSecretInput[]; errors: string[] } {
  if (Array.isArray(data)) {
    const inputs: CreateSecretInput[] = [];
    const errors: string[] = [];
    data.forEach((entry, i) => {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
        errors.push(`item ${i + 1}: not an object`);
        return;
      }
      // Only the fields the API knows; anything else in the file is left out.
      const item: Record<string, unknown> = {};
      for (const field of FIELDS) if (field in entry) item[field] = (entry as Record<string, unknown>)[field];
      inputs.push(item as unknown as CreateSecretInput);
    });
    return { inputs, errors };
  }
  if (typeof data === 'object' && data !== null) {
    return {
      inputs: Object.entries(data).map(([key, value]) => ({
        key,
        value: typeof value === 'string' ? value : JSON.stringify(value),
      })),
      errors: [],
    };
  }
  return { inputs: [], errors: ['JSON: expected an object of KEY: value, or an array of secrets'] };
}

export function parseFile(text: string): ParsedFile {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      // The parser's message may quote part of the file, which may be a value: say where only.
      const at = /position (\d+)/.exec(error instanceof Error ? error.message : '');
      return { format: 'json', items: [], errors: [`Not valid JSON${at ? ` (at character ${at[1]})` : ''}`] };
    }
    const { inputs, errors } = fromJson(data);
    return { format: 'json', items: check(inputs), errors };
  }
  const { inputs, errors } = parseEnv(text);
  return { format: 'env', items: check(inputs), errors };
}
