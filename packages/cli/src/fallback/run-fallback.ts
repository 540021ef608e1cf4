/**
 * `ductape run --fallback FILE`: save what a run injected, and use it when the server cannot
 * answer. `run` loads this module only when one of the fallback options is given.
 *
 * A file is used only when every one of these holds, checked in this order: it is a private
 * regular file (file.ts); it was written for the credentials in use (format.ts); it is intact;
 * it came from the same server URL; for the same --app, --env, --only and --name-transform;
 * and it is younger than --fallback-max-age. Otherwise nothing is started (exit 1).
 */
import { CliError, info } from '../output.js';
import { FallbackFileError, readFallbackFile, writeFallbackFile } from './file.js';
import {
  FallbackOpenError,
  openFallback,
  sealFallback,
  type Credential,
  type FallbackScope,
  type FallbackVariable,
} from './format.js';
import {
  DEFAULT_MAX_AGE,
  describeScope,
  formatAge,
  parseMaxAge,
  sameScope,
  unreachableReason,
} from './policy.js';

/** A file dated this far ahead of our clock is refused: its age cannot be told. */
const FUTURE_TOLERANCE_MS = 5 * 60_000;

export interface FallbackContext {
  path: string;
  url: string;
  scope: FallbackScope;
  credential: Credential;
}

/** What `run` does with the file; made before any request, so a bad --fallback-max-age is exit 2. */
export interface Fallback {
  /** Why `error` lets the file be used (the server could not answer); undefined when it does not. */
  unreachable(error: unknown): string | undefined;
  load(why: string): FallbackVariable[];
  save(variables: readonly FallbackVariable[]): void;
}

export function prepareFallback(context: FallbackContext, maxAge: string | undefined): Fallback {
  const maxAgeMs = parseMaxAge(maxAge ?? DEFAULT_MAX_AGE);
  return {
    unreachable: unreachableReason,
    load: (why) => loadFallback(context, maxAgeMs, why),
    save: (variables) => saveFallback(context, variables),
  };
}

const normalUrl = (url: string): string => url.replace(/\/+$/, '');

/**
 * Writes the variables this run injects. A failure is a warning, not a reason to keep the
 * program from starting: the server did answer.
 */
export function saveFallback(context: FallbackContext, variables: readonly FallbackVariable[]): void {
  try {
    const text = sealFallback({
      variables,
      url: normalUrl(context.url),
      scope: context.scope,
      credential: context.credential,
      now: new Date(),
    });
    writeFallbackFile(context.path, text);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    info(`warning: --fallback: could not write ${context.path} (${code}); the next outage will find no copy`);
  }
}

/**
 * The variables saved in the file, after the checks above, and the one warning line that
 * names the file's age. `why` says why the server was not asked (or could not answer): it
 * leads both the warning and the refusal.
 */
export function loadFallback(context: FallbackContext, maxAgeMs: number, why: string): FallbackVariable[] {
  const refuse = (detail: string): CliError =>
    new CliError(`${why}, and the fallback file ${context.path} ${detail}; nothing was started`, 1);
  let opened;
  try {
    opened = openFallback(readFallbackFile(context.path), context.credential);
  } catch (error) {
    if (error instanceof FallbackFileError || error instanceof FallbackOpenError) throw refuse(error.message);
    throw error;
  }
  const { header, variables } = opened;
  if (normalUrl(header.url) !== normalUrl(context.url)) {
    throw refuse(`was written for the server at ${header.url}, not ${normalUrl(context.url)}`);
  }
  if (!sameScope(header.scope, context.scope)) {
    throw refuse(`was written for ${describeScope(header.scope)}, not for ${describeScope(context.scope)}`);
  }
  const age = Date.now() - Date.parse(header.created_at);
  if (age < -FUTURE_TOLERANCE_MS) {
    throw refuse(`is dated ${formatAge(-age)} in the future (has the clock changed?)`);
  }
  if (age > maxAgeMs) {
    throw refuse(`is ${formatAge(age)} old, older than --fallback-max-age (${formatAge(maxAgeMs)})`);
  }
  info(`warning: ${why}; starting with the values saved in ${context.path} ${formatAge(age)} ago`);
  return variables;
}
