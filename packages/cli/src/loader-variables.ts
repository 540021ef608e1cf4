/**
 * Environment variables that change how programs load or run code. A secret with one of these
 * names, injected by `ductape run` or sourced from `export --format shell`, would let anyone
 * who can write a secret run code wherever it is used (`NODE_OPTIONS=--import=data:...`,
 * `LD_PRELOAD=/tmp/x.so`, `BASH_ENV=/tmp/x.sh`, a `PATH` that puts their `node` first...).
 * They are refused unless the caller names each one with `--allow-name`.
 *
 * The list (docs/security.md repeats it): names starting with LD_, DYLD_, PYTHON, PERL5,
 * GIT_, BASH_FUNC_, npm_config_ / NPM_CONFIG_; and PATH, ENV, BASH_ENV, SHELLOPTS, BASHOPTS,
 * PS4, PROMPT_COMMAND, IFS, NODE_OPTIONS, NODE_PATH, NODE_REPL_EXTERNAL_MODULE, PERLLIB,
 * RUBYOPT, RUBYLIB, GEM_PATH, GEM_HOME, JAVA_TOOL_OPTIONS, _JAVA_OPTIONS, JDK_JAVA_OPTIONS,
 * CLASSPATH, PHPRC, PHP_INI_SCAN_DIR, LUA_PATH, LUA_CPATH, LUA_INIT, TCLLIBPATH, GCONV_PATH,
 * GLIBC_TUNABLES, LOCPATH.
 */
import { CliError } from './output.js';

const PREFIXES = ['LD_', 'DYLD_', 'PYTHON', 'PERL5', 'GIT_', 'BASH_FUNC_', 'npm_config_', 'NPM_CONFIG_'];

const NAMES = new Set([
  'PATH',
  'ENV',
  'BASH_ENV',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'PROMPT_COMMAND',
  'IFS',
  'NODE_OPTIONS',
  'NODE_PATH',
  'NODE_REPL_EXTERNAL_MODULE',
  'PERLLIB',
  'RUBYOPT',
  'RUBYLIB',
  'GEM_PATH',
  'GEM_HOME',
  'JAVA_TOOL_OPTIONS',
  '_JAVA_OPTIONS',
  'JDK_JAVA_OPTIONS',
  'CLASSPATH',
  'PHPRC',
  'PHP_INI_SCAN_DIR',
  'LUA_PATH',
  'LUA_CPATH',
  'LUA_INIT',
  'TCLLIBPATH',
  'GCONV_PATH',
  'GLIBC_TUNABLES',
  'LOCPATH',
]);

/** Whether a variable of this name changes how programs load or run code. */
export function loadsCode(name: string): boolean {
  return NAMES.has(name) || PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** The --allow-name option's collector: each use adds one name. */
export function collectName(name: string, names: string[] = []): string[] {
  return [...names, name];
}

export const ALLOW_NAME_HELP =
  'allow this variable although it changes how programs load code (LD_PRELOAD, NODE_OPTIONS, PATH...); repeat for each';

/**
 * Refuses, in one line naming them, the variables that would change how programs load code,
 * except those the caller allowed by name.
 */
export function refuseCodeLoading(names: readonly string[], allowed: readonly string[] = []): void {
  const refused = names.filter((name) => loadsCode(name) && !allowed.includes(name));
  if (refused.length === 0) return;
  throw new CliError(
    `refusing to set ${refused.join(', ')}: ${refused.length === 1 ? 'it changes' : 'they change'} how programs ` +
      'load code, so whoever can write these secrets could run code here; if you trust them, pass ' +
      refused.map((name) => `--allow-name ${name}`).join(' '),
    2,
  );
}
