/**
 * Import files in JSON: an object `{"KEY": "value", ...}` (what `secrets export --format json`
 * writes) or an array of `{key, value, description?, token_type?, scope?, envs?, expires_at?}`
 * (the fields of `secrets create`). Each entry keeps the line it starts on, for the report.
 *
 * Problems (the file is then not sent at all): not JSON, a top level that is neither object
 * nor array, a value that is not a string, an array item without a string key and value or
 * with an unknown field, and a key given twice (JSON.parse would silently keep the last).
 * Messages never quote the file's text: it holds secret values.
 */
import type { FileProblem } from './dotenv.js';

export interface JsonEntry {
  line: number;
  fields: Record<string, unknown>;
}

const ITEM_FIELDS = ['key', 'value', 'description', 'token_type', 'scope', 'envs', 'expires_at'];

interface Member {
  line: number;
  /** For an object member: its key. */
  key?: string;
}

/** The end (exclusive) of the JSON string that starts at `start` (a `"`). */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

/** Where each member of the top-level object or array starts, in source order. Valid JSON only. */
function topLevelMembers(text: string): Member[] {
  const members: Member[] = [];
  let line = 1;
  let depth = 0;
  let expecting = false;
  let container = '';
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i] as string;
    if (ch === '\n') line += 1;
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') continue;
    if (expecting && depth === 1 && ch !== ']' && ch !== '}') {
      members.push(
        container === '{' ? { line, key: JSON.parse(text.slice(i, stringEnd(text, i))) as string } : { line },
      );
    }
    expecting = false;
    if (ch === '"') {
      // Valid JSON strings hold no raw line feed, so the line count is unaffected.
      i = stringEnd(text, i) - 1;
    } else if (ch === '{' || ch === '[') {
      depth += 1;
      if (depth === 1) {
        container = ch;
        expecting = true;
      }
    } else if (ch === '}' || ch === ']') {
      depth -= 1;
    } else if (ch === ',' && depth === 1) {
      expecting = true;
    }
  }
  return members;
}

function lineAt(text: string, position: number): number {
  let line = 1;
  for (let i = 0; i < position && i < text.length; i += 1) if (text[i] === '\n') line += 1;
  return line;
}

/** JSON.parse's complaint as a problem with a line, without the snippet V8 may quote. */
function syntaxProblem(text: string, error: Error): FileProblem {
  const at = / in JSON at position (\d+)/.exec(error.message);
  if (at) {
    return {
      line: lineAt(text, Number(at[1])),
      message: `not valid JSON: ${error.message.slice(0, at.index)}`,
    };
  }
  if (/Unexpected end of JSON input/.test(error.message)) {
    return { line: lineAt(text, text.length), message: 'not valid JSON: it ends too early' };
  }
  // "Unexpected token 'x', "...text..." is not valid JSON": point at the first such character.
  const token = /^Unexpected token '(.)'/.exec(error.message)?.[1];
  const position = token === undefined ? -1 : text.indexOf(token);
  return {
    line: position === -1 ? 1 : lineAt(text, position),
    message: 'not valid JSON: unexpected character',
  };
}

function checkItem(item: unknown, index: number): string | undefined {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    return `item ${index + 1} must be an object with "key" and "value"`;
  }
  const fields = item as Record<string, unknown>;
  const unknown = Object.keys(fields).find((f) => !ITEM_FIELDS.includes(f));
  if (unknown !== undefined) {
    return `item ${index + 1}: unknown field "${unknown.slice(0, 64)}" (allowed: ${ITEM_FIELDS.join(', ')})`;
  }
  if (typeof fields.key !== 'string') return `item ${index + 1}: "key" must be a string`;
  if (typeof fields.value !== 'string') return `item ${index + 1} (${fields.key}): "value" must be a string`;
  return undefined;
}

export function parseJsonImport(text: string): { entries: JsonEntry[]; problems: FileProblem[] } {
  const source = text.replace(/^\uFEFF/, '');
  let data: unknown;
  try {
    data = JSON.parse(source);
  } catch (error) {
    return { entries: [], problems: [syntaxProblem(source, error as Error)] };
  }
  if (typeof data !== 'object' || data === null) {
    return {
      entries: [],
      problems: [{ line: 1, message: 'expected an object {"KEY": "value"} or an array of {key, value}' }],
    };
  }
  const members = topLevelMembers(source);
  const entries: JsonEntry[] = [];
  const problems: FileProblem[] = [];
  const firstLine = new Map<string, number>();
  const once = (key: string, line: number): boolean => {
    const earlier = firstLine.get(key);
    if (earlier !== undefined) {
      problems.push({ line, message: `'${key}' is already defined on line ${earlier}` });
      return false;
    }
    firstLine.set(key, line);
    return true;
  };

  if (Array.isArray(data)) {
    data.forEach((item: unknown, index) => {
      const line = members[index]?.line ?? 1;
      const problem = checkItem(item, index);
      if (problem !== undefined) problems.push({ line, message: problem });
      else {
        const fields = item as Record<string, unknown>;
        if (once(fields.key as string, line)) entries.push({ line, fields });
      }
    });
    return { entries, problems };
  }

  const object = data as Record<string, unknown>;
  for (const { key, line } of members) {
    if (key === undefined) continue;
    if (!once(key, line)) continue;
    const value = object[key];
    if (typeof value !== 'string') {
      problems.push({ line, message: `the value of '${key.slice(0, 128)}' must be a string` });
      continue;
    }
    entries.push({ line, fields: { key, value } });
  }
  return { entries, problems };
}
