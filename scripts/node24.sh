#!/usr/bin/env bash
# The Node.js 24 leg of CI: the whole suite (`npm test`) once more, on Node.js 24, in a copy of
# the checkout. The machine's Node.js 20 and the checkout's own node_modules are not touched:
# better-sqlite3 is a native module built for one Node.js ABI, so each leg needs its own build,
# and building both in one folder would leave one of them broken.
#
#   bash scripts/node24.sh              the whole suite (CI runs it with CI=true; ~15 min here)
#   bash scripts/node24.sh --smoke      install and build only, then the native-module check
#   KEEP=1 bash scripts/node24.sh ...   keep the temporary folder (its path is printed)
#
# Only the npm registry is used. Node.js 24 comes from `node-linux-<arch>`, the package that the
# registry's `node` package installs for this platform: the official release as published
# (bin/node, and include/node, the headers node-gyp needs to build better-sqlite3 without
# downloading anything). It is installed directly: `node` picks it only through an install
# script, which npm may decline to run, and `node` does not offer the release pinned below.
set -euo pipefail

# Pinned, not "the newest 24": a new release must not turn CI red on its own; raise the pin in a
# commit whose CI ran this leg green. Why 24.22.3 and nothing from 24.19.0 to 24.21.x: 24.19.0
# made node::ObjectWrap (compiled into better-sqlite3 12 from these headers) remove a cleanup
# hook in its destructor, and Node aborts there ("Assertion failed: (env) != nullptr",
# RemoveEnvironmentCleanupHook) when the garbage collector frees a Statement outside any JS
# call. 24.22.0 fixed it in Node itself ("src: keep global list of addon-provided cleanup
# hooks", nodejs/node#63985). Seen here with that assertion: 9 aborts in 26 runs of a
# statement-heavy script on 24.19.0, none in 37 on 24.22.3. 24.22.x is published as
# node-linux-<arch> but not (yet) as `node`, whose newest is 24.21.0.
# docs/operations-node-versions.md has the details.
NODE24_VERSION="${NODE24_VERSION:-24.22.3}"

repo="$(cd "$(dirname "$0")/.." && pwd)"
smoke=false
[ "${1:-}" = "--smoke" ] && smoke=true

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "node24: no Node.js package for $(uname -m)" >&2; exit 1 ;;
esac
case "$(uname -s)" in
  Linux) platform=linux ;;
  Darwin) platform=darwin ;;
  *) echo "node24: no Node.js package for $(uname -s)" >&2; exit 1 ;;
esac
package="node-$platform-$arch"

work="$(mktemp -d "${TMPDIR:-/tmp}/ductape-node24.XXXXXX")"
if [ -n "${KEEP:-}" ]; then
  echo "node24: keeping $work"
else
  trap 'rm -rf "$work"' EXIT
fi
log() { echo "[node24] $*"; }

log "installing $package@$NODE24_VERSION from the npm registry into $work/node"
npm install --prefix "$work/node" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
  "$package@$NODE24_VERSION" >/dev/null
nodedir="$work/node/node_modules/$package"
[ -x "$nodedir/bin/node" ] || { echo "node24: $nodedir/bin/node is missing" >&2; exit 1; }
[ -f "$nodedir/include/node/node.h" ] || { echo "node24: $package has no headers" >&2; exit 1; }
version="$("$nodedir/bin/node" --version)"
[ "$version" = "v$NODE24_VERSION" ] || { echo "node24: got $version, not v$NODE24_VERSION" >&2; exit 1; }

# The checkout's files as they are (tracked, and new files not ignored), without node_modules,
# dist or data: a leg of the working tree, not only of the last commit.
log "copying the checkout to $work/repo"
mkdir "$work/repo"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' path; do [ -e "$path" ] && printf '%s\0' "$path"; done |
  tar --null -T - -cf -) | tar -xf - -C "$work/repo"

cd "$work/repo"
# From here on `node` is Node.js 24 (npm's own launcher runs on it too), and node-gyp builds
# against its headers.
export PATH="$nodedir/bin:$PATH"
export npm_config_nodedir="$nodedir"
log "node $(node --version), npm $(npm --version): npm ci"
npm ci --no-audit --no-fund --loglevel=error

# The native module must load, and survive the garbage collector freeing its statements (in a
# worker's teardown and while idle): a quick check before the long suite. It is no sure test of
# the abort of 24.19.0 to 24.21.x (see the pin above): that came only in some runs here.
cat > "$work/gc-check.js" <<'CHECK'
const Database = require('better-sqlite3');
const db = new Database(':memory:');
db.exec('create table t (k integer primary key, v text)');
for (let i = 0; i < 20000; i++) {
  db.prepare('insert into t (v) values (?)').run(String(i));
  db.prepare('select v from t where k = ?').get(i + 1);
}
const { Worker } = require('node:worker_threads');
const worker = new Worker(
  "const D = require('better-sqlite3'); const d = new D(':memory:'); for (let i = 0; i < 5000; i++) d.prepare('select ?').get(i);",
  { eval: true },
);
worker.on('exit', (code) => {
  setTimeout(() => console.log(`[node24] gc check: worker exited ${code}, then 3 s idle`), 3000);
});
CHECK
NODE_PATH="$work/repo/node_modules" node "$work/gc-check.js" ||
  { echo "node24: better-sqlite3 crashed on $(node --version)" >&2; exit 1; }
log "better-sqlite3 loads and survives garbage collection on $(node --version)"

if [ "$smoke" = true ]; then
  log "smoke check done"
  exit 0
fi

log "npm test on $(node --version)"
started=$SECONDS
npm test
log "npm test passed on $(node --version) in $((SECONDS - started)) s"
