// First contact, as a newcomer meets the project: clone the repository into a temporary
// folder, run `npm install` exactly once, start the server with `npm start`, then run every
// `npx ...` command of the README's "First steps" exactly as printed (in a terminal, answering
// its prompts), with the example ids swapped for the ones this run made. Then the command line
// on its own: `npm pack` the SDK and the CLI, install both tarballs into an empty folder with
// --ignore-scripts, check no native module came along, and run `ductape run -- true` from there.
//
//   node scripts/first-contact.mjs [--keep]     (CI runs it; about 3 minutes, most of it npm install)
//
// Prints what it checked and the CLI's installed size and `run` overhead; exits 1 on the first
// failure with what was expected and what came out.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const keep = process.argv.includes('--keep');
const work = mkdtempSync(join(tmpdir(), 'ductape-first-contact-'));
const clone = join(work, 'clone');
const home = join(work, 'home');
mkdirSync(home);

const log = (message) => process.stdout.write(`[first-contact] ${message}\n`);
class Failure extends Error {}
function check(ok, message, output = '') {
  if (!ok) throw new Failure(`${message}${output ? `\n--- output ---\n${output}\n--------------` : ''}`);
}

/** A free port of 127.0.0.1: 8080 as the README says when nothing holds it, else any. */
function freePort(preferred) {
  return new Promise((resolvePort) => {
    const probe = createServer();
    probe.once('error', () => {
      const any = createServer();
      any.listen(0, '127.0.0.1', () => {
        const { port } = any.address();
        any.close(() => resolvePort(port));
      });
    });
    probe.listen(preferred, '127.0.0.1', () => probe.close(() => resolvePort(preferred)));
  });
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  return {
    code: result.status,
    output: `${result.stdout ?? ''}${result.stderr ?? ''}`,
    stdout: result.stdout ?? '',
  };
}

// A command in a pseudo-terminal (bash -c, so quotes work as a person's shell reads them), each
// prompt answered once when it shows. python3's pty module: nothing to install.
const PTY_DRIVER = String.raw`
import json, os, pty, re, select, sys, time
spec = json.load(sys.stdin)
pid, fd = pty.fork()
if pid == 0:
    os.chdir(spec['cwd'])
    os.execvpe('bash', ['bash', '-c', spec['command']], spec['env'])
out, answered, deadline = b'', set(), time.time() + spec['timeout']
while time.time() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.5)
    if not ready:
        continue
    try:
        data = os.read(fd, 65536)
    except OSError:
        break
    if not data:
        break
    out += data
    text = out.decode('utf8', 'replace')
    for i, (pattern, answer) in enumerate(spec['answers']):
        if i not in answered and re.search(pattern, text):
            answered.add(i)
            os.write(fd, (answer + '\r').encode())
else:
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
print(json.dumps({'output': out.decode('utf8', 'replace'), 'code': os.waitstatus_to_exitcode(status)}))
`;

function inTerminal(command, env, answers, cwd = clone) {
  const result = spawnSync('python3', ['-c', PTY_DRIVER], {
    input: JSON.stringify({ command, env, answers, cwd, timeout: 120 }),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  check(result.status === 0, `the terminal driver failed for: ${command}`, result.stderr);
  return JSON.parse(result.stdout);
}

/** The `npx ...` lines of the README's "First steps", comments dropped. */
function firstSteps(readme) {
  const start = readme.indexOf('\n## First steps');
  check(start >= 0, 'README.md has no "First steps" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const commands = [];
  for (const block of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block[1].split('\n')) {
      const command = line.replace(/\s+#\s.*$/, '').trim();
      if (command.startsWith('npx ')) commands.push(command);
    }
  }
  return commands;
}

async function waitForHealth(url, server, output) {
  for (let i = 0; i < 600; i++) {
    if (server.exitCode !== null) break;
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  check(false, `npm start did not serve ${url}/healthz within 60 s`, output());
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function timedMs(command, args, options) {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, options);
  check(result.status === 0, `${command} ${args.join(' ')} failed`, `${result.stdout}${result.stderr}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function folderBytes(dir) {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) continue;
    total += stat.isDirectory() ? folderBytes(path) : stat.size;
  }
  return total;
}

function findFiles(dir, test, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat?.isDirectory()) findFiles(path, test, out);
    else if (test(name)) out.push(path);
  }
  return out;
}

let server;
let serverOutput = '';
try {
  log(`cloning ${REPO} into ${clone}`);
  execFileSync('git', ['clone', '--quiet', '--no-hardlinks', REPO, clone]);

  log('npm install (once, as the README says)');
  const npmEnv = { ...process.env, npm_config_nodedir: process.env.npm_config_nodedir ?? '/usr' };
  const install = run('npm', ['install', '--no-audit', '--no-fund'], { cwd: clone, env: npmEnv });
  check(install.code === 0, 'npm install failed', install.output);

  const port = await freePort(8080);
  const url = `http://127.0.0.1:${port}`;
  log(`npm start on ${url}`);
  server = spawn('npm', ['start'], {
    cwd: clone,
    env: { ...process.env, PORT: String(port), CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  server.stdout.setEncoding('utf8').on('data', (d) => (serverOutput += d));
  server.stderr.setEncoding('utf8').on('data', (d) => (serverOutput += d));
  await waitForHealth(url, server, () => serverOutput);
  check(
    serverOutput.includes('npx ductape-server workspace create'),
    'the first start did not say what to do next (npx ductape-server workspace create)',
    serverOutput,
  );

  // The environment of a person's second terminal in the clone. DUCTAPE_URL only when the
  // README's default port was taken on this machine.
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    TERM: 'xterm',
    LANG: 'C.UTF-8',
    ...(port === 8080 ? {} : { DUCTAPE_URL: url }),
  };

  const help = run('npx', ['ductape', '--help'], { cwd: clone, env });
  check(help.code === 0 && help.output.includes('Usage: ductape'), 'npx ductape --help failed', help.output);
  log('npx ductape --help: ok');

  const readme = readFileSync(join(clone, 'README.md'), 'utf8');
  const commands = firstSteps(readme);
  check(commands.length >= 3, `README "First steps" has only ${commands.length} npx commands`);
  const exampleWorkspace = /workspace_id\s+([0-9a-f]{24})/.exec(readme)?.[1];
  const exampleUser = /user_id\s+([0-9a-f]{24})/.exec(readme)?.[1];
  check(exampleWorkspace && exampleUser, 'README "First steps" shows no example workspace_id / user_id');

  let owner;
  const answers = () => [
    ['Server URL \\[', ''],
    ['Private key \\(input hidden\\)', owner?.private_key ?? ''],
    ["Value for '[^']+' \\(input hidden\\)", 'sk_test_first_contact_4f1c'],
  ];
  for (const written of commands) {
    let command = written;
    if (owner) {
      command = command
        .replaceAll(exampleWorkspace, owner.workspace_id)
        .replaceAll(exampleUser, owner.user_id);
    }
    const result = inTerminal(command, env, answers());
    check(result.code === 0, `README step failed (exit ${result.code}): ${written}`, result.output);
    if (/ductape-server workspace create/.test(command)) {
      const fields = Object.fromEntries(
        ['workspace_id', 'user_id', 'private_key'].map((name) => [
          name,
          new RegExp(`${name}\\s+(\\S+)`).exec(result.output)?.[1],
        ]),
      );
      check(
        Object.values(fields).every(Boolean),
        'workspace create did not print the three credentials',
        result.output,
      );
      owner = fields;
    }
    const expected = [
      [/ductape login/, /Logged in to http/],
      [/secrets create STRIPE_API_KEY/, /Created secret 'STRIPE_API_KEY' \(version 1\)/],
      [/secrets list/, /STRIPE_API_KEY\s+active/],
      [/ductape run/, /STRIPE_API_KEY is set/],
      [/user create/, /Created developer user/],
    ].find(([when]) => when.test(command));
    if (expected) check(expected[1].test(result.output), `unexpected output of: ${written}`, result.output);
    // What is typed at a hidden prompt never shows in the terminal.
    if (/ductape login/.test(command) && owner) {
      check(!result.output.includes(owner.private_key), 'the private key was echoed at its hidden prompt');
    }
    if (/secrets create/.test(command)) {
      check(
        !result.output.includes('sk_test_first_contact_4f1c'),
        'the value was echoed at its hidden prompt',
      );
    }
    log(`${written.slice(0, 100)}: ok`);
  }
  check(owner, 'the README "First steps" never ran `npx ductape-server workspace create`');
  check(
    !serverOutput.includes('sk_test_first_contact_4f1c'),
    "the secret's value appeared in the server's output",
  );

  const json = run('npx', ['ductape-server', 'workspace', 'create', '--name', 'a', '--json'], {
    cwd: clone,
    env,
  });
  check(json.code === 0, 'npx ductape-server workspace create --json failed', json.output);
  const made = JSON.parse(json.stdout);
  check(
    ['workspace_id', 'user_id', 'private_key'].every((name) => typeof made[name] === 'string'),
    'workspace create --json printed no {workspace_id, user_id, private_key}',
    json.output,
  );
  log('npx ductape-server workspace create --name a --json: ok');

  const misplaced = run('npx', ['ductape', 'workspace', 'create', '--name', 'acme'], { cwd: clone, env });
  check(
    misplaced.code === 2 &&
      misplaced.output.trim().split('\n').length === 1 &&
      misplaced.output.includes('npx ductape-server workspace create --name acme'),
    'npx ductape workspace create should answer one line naming ductape-server, exit 2',
    misplaced.output,
  );
  log('npx ductape workspace create: one line naming ductape-server, exit 2: ok');

  // The command line on its own, from its packed tarball.
  const packs = join(work, 'packs');
  mkdirSync(packs);
  const pack = run(
    'npm',
    ['pack', '--workspace', '@ductape/sdk', '--workspace', '@ductape/cli', '--pack-destination', packs],
    {
      cwd: clone,
      env: npmEnv,
    },
  );
  check(pack.code === 0, 'npm pack failed', pack.output);
  const tarballs = readdirSync(packs)
    .filter((name) => name.endsWith('.tgz'))
    .map((name) => join(packs, name));
  check(tarballs.length === 2, `npm pack made ${tarballs.length} tarballs, expected 2`, pack.output);
  const alone = join(work, 'standalone');
  mkdirSync(alone);
  writeFileSync(join(alone, 'package.json'), '{"name":"standalone","private":true}\n');
  const installed = run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', ...tarballs], {
    cwd: alone,
    env: npmEnv,
  });
  check(installed.code === 0, 'installing the SDK and CLI tarballs failed', installed.output);
  const modules = join(alone, 'node_modules');
  const native = findFiles(modules, (name) => name.endsWith('.node') || name === 'binding.gyp');
  check(native.length === 0, `native modules came with the CLI: ${native.join(', ')}`);
  const heavy = ['better-sqlite3', 'pg', 'fastify', 'pino'].filter((name) => existsSync(join(modules, name)));
  check(heavy.length === 0, `server dependencies came with the CLI: ${heavy.join(', ')}`);
  const sdkDescription = JSON.parse(
    readFileSync(join(modules, '@ductape', 'sdk', 'package.json'), 'utf8'),
  ).description;
  check(
    /Ductape secrets service/.test(sdkDescription),
    'the SDK installed is not the packed one',
    sdkDescription,
  );
  const packages = readdirSync(modules)
    .filter((name) => !name.startsWith('.'))
    .flatMap((name) =>
      name.startsWith('@') ? readdirSync(join(modules, name)).map((n) => `${name}/${n}`) : [name],
    );
  const bytes = folderBytes(modules);
  const bin = join(modules, '.bin', 'ductape');
  const version = run(bin, ['--version'], { cwd: alone, env });
  check(
    version.code === 0 && version.stdout.trim() === '0.1.0',
    'ductape --version from the tarball failed',
    version.output,
  );
  const runEnv = {
    ...env,
    DUCTAPE_URL: url,
    DUCTAPE_WORKSPACE_ID: owner.workspace_id,
    DUCTAPE_USER_ID: owner.user_id,
    DUCTAPE_PRIVATE_KEY: owner.private_key,
  };
  const runArgs = ['run', '--app', 'stripe_payments', '--env', 'prd', '--', 'true'];
  const ran = run(bin, runArgs, { cwd: alone, env: runEnv });
  check(ran.code === 0, 'ductape run -- true from the tarball install failed', ran.output);
  const timings = { bare: [], run: [] };
  for (let i = 0; i < 12; i++) {
    timings.bare.push(timedMs('true', [], { env: runEnv }));
    timings.run.push(timedMs(bin, runArgs, { cwd: alone, env: runEnv }));
  }
  const overhead = median(timings.run.slice(2)) - median(timings.bare.slice(2));
  log(
    `@ductape/cli from its tarball: ${packages.length} packages (${packages.join(', ')}), ${(bytes / 1024 / 1024).toFixed(2)} MB installed, ` +
      `no native module; \`ductape run -- true\` ${overhead.toFixed(0)} ms over bare \`true\` (median of 10)`,
  );
  log('all first-contact checks passed');
} catch (error) {
  process.stderr.write(`[first-contact] FAILED: ${error instanceof Failure ? error.message : error.stack}\n`);
  process.exitCode = 1;
} finally {
  if (server && server.exitCode === null) {
    try {
      process.kill(-server.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    await new Promise((r) => {
      const timer = setTimeout(r, 10_000);
      server.once('exit', () => {
        clearTimeout(timer);
        r();
      });
    });
  }
  if (keep) log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
