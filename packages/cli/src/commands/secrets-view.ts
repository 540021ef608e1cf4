/**
 * How secrets look to people: the list table and the `get` page. Scripts use --json, which
 * prints the SDK's objects untouched.
 */
import type { Secret, SecretVersion, SecretWithValue } from '@ductape/sdk';
import { printTable } from '../output.js';

/** ISO 8601 to the second: "2026-01-31T12:00:00Z". */
function isoSeconds(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? '?' : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export const expiresText = (s: Secret): string =>
  s.expires_at === null ? 'never' : isoSeconds(s.expires_at * 1000);
export const scopeText = (s: Secret): string => (s.scope.length === 0 ? 'all apps' : s.scope.join(','));
export const envsText = (s: Secret): string => (s.envs.length === 0 ? 'all' : s.envs.join(','));
const updatedText = (s: Secret): string => isoSeconds(Date.parse(s.updatedAt));

/**
 * Text that anyone in the workspace wrote (a description, a value) is shown with its control
 * characters escaped, so it cannot move the cursor or restyle the terminal it is printed on.
 */
export function printable(text: string, keepLineBreaks = false): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (ch) =>
    keepLineBreaks && (ch === '\n' || ch === '\t')
      ? ch
      : `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export function printSecretTable(secrets: Secret[]): void {
  if (secrets.length === 0) {
    process.stdout.write('No secrets yet. Create one with: ductape secrets create KEY\n');
    return;
  }
  printTable(
    ['KEY', 'STATUS', 'TYPE', 'SCOPE', 'ENVS', 'EXPIRES', 'UPDATED'],
    secrets.map((s) => [
      s.key,
      s.status,
      s.token_type ?? '-',
      scopeText(s),
      envsText(s),
      expiresText(s),
      updatedText(s),
    ]),
  );
}

const UNITS = [
  ['d', 86_400],
  ['h', 3600],
  ['m', 60],
  ['s', 1],
] as const;

/** "3d 4h", "2h", "5m 10s": how long until `unixSeconds`, in its largest unit and the next. */
export function timeLeft(unixSeconds: number, nowMs = Date.now()): string {
  const left = Math.max(0, unixSeconds - Math.floor(nowMs / 1000));
  const i = UNITS.findIndex(([, size]) => left >= size);
  if (i === -1) return '0s';
  const [unit, size] = UNITS[i] as (typeof UNITS)[number];
  const text = `${Math.floor(left / size)}${unit}`;
  const next = UNITS[i + 1];
  const more = next === undefined ? 0 : Math.floor((left % size) / next[1]);
  return next === undefined || more === 0 ? text : `${text} ${more}${next[0]}`;
}

/** `secrets list --expiring`: soonest first, as the server ordered them, with the time left. */
export function printExpiringTable(secrets: Secret[], within: string): void {
  if (secrets.length === 0) {
    process.stdout.write(`No secrets expire within ${within}.\n`);
    return;
  }
  const now = Date.now();
  printTable(
    ['KEY', 'EXPIRES', 'IN', 'STATUS', 'SCOPE', 'ENVS'],
    secrets.map((s) => [
      s.key,
      expiresText(s),
      s.expires_at === null ? '-' : timeLeft(s.expires_at, now),
      s.status,
      scopeText(s),
      envsText(s),
    ]),
  );
}

function metadataLines(s: Secret): [string, string][] {
  const lines: [string, string][] = [
    ['key', s.key],
    ['status', s.status],
    ['description', s.description === null ? '-' : printable(s.description)],
    ['type', s.token_type ?? '-'],
    ['scope', scopeText(s)],
    ['envs', envsText(s)],
    ['expires', expiresText(s)],
    ['version', String(s.version)],
    ['created', isoSeconds(Date.parse(s.createdAt))],
    ['updated', updatedText(s)],
  ];
  if (s.revoked_at !== null) lines.splice(2, 0, ['revoked', isoSeconds(Date.parse(s.revoked_at))]);
  return lines;
}

/** Metadata lines, then the value: on the same line when it is one line, else below. */
export function printSecretDetails(s: Secret | SecretWithValue): void {
  const lines = metadataLines(s).map(([name, value]) => `${name.padEnd(12)} ${value}`);
  if ('value' in s) {
    const shown = printable(s.value, true);
    if (shown.includes('\n')) lines.push('value:', shown.endsWith('\n') ? shown.slice(0, -1) : shown);
    else lines.push(`${'value'.padEnd(12)} ${shown}`);
    if (shown !== s.value || /\s$/.test(s.value)) {
      lines.push('', '(use --value-only for the exact value)');
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
}

/** The versions of one secret, newest first. */
export function printVersionTable(key: string, versions: SecretVersion[]): void {
  if (versions.length === 0) {
    process.stdout.write(`Secret '${key}' has no recorded versions.\n`);
    return;
  }
  printTable(
    ['VERSION', 'CREATED', 'BY'],
    versions.map((v) => [String(v.version), isoSeconds(Date.parse(v.createdAt)), v.actor]),
  );
}
