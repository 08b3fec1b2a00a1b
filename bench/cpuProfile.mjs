/**
 * Reads a V8 CPU profile (`node --cpu-prof`) into what a person looks for in it: where the busy
 * time goes by function (self and total), and by owner (Keyward's own code, each package,
 * Node's internals, V8's garbage collector). Idle time is left out of every share.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Who a frame's code belongs to: 'keyward', a package name, 'node' (its JavaScript), or for
 * frames without source, V8's own entries ('(garbage collector)', '(program)'), 'regexp', or
 * 'native' (C++ bindings such as writev, where a socket write's system call is spent).
 */
function ownerOf(url, functionName) {
  if (!url) {
    if (['(garbage collector)', '(program)', '(root)', '(idle)'].includes(functionName)) return functionName;
    return functionName.startsWith('RegExp:') ? 'regexp' : 'native';
  }
  if (url.startsWith('node:')) return 'node';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const pkg = path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return pkg[1];
  if (path.startsWith(ROOT)) return 'keyward';
  return 'other';
}

const place = (url) => {
  if (!url) return '';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  return path.startsWith(ROOT) ? path.slice(ROOT.length) : path.replace(/^.*node_modules\//, '');
};

// tsx's transform puts a module's code on line 1, so a line number there points nowhere.
const where = ({ url, lineNumber }) => (!url ? '' : lineNumber === 0 ? place(url) : `${place(url)}:${lineNumber + 1}`);

/**
 * `window` keeps the samples from `fromEndMs` to `toEndMs` before the profile's end (the process's
 * exit), so that start-up and shutdown stay out of a profile of the load.
 * @returns {{ busyMs: number, functions: {name, owner, place, selfMs, totalMs}[], owners: {owner, selfMs}[] }}
 */
export function summariseProfile(file, window = { fromEndMs: Infinity, toEndMs: 0 }) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // One entry per function (name and source position), whatever the call path.
  const keyOf = (n) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url}:${n.callFrame.lineNumber + 1}:${n.callFrame.columnNumber + 1}`;
  const functions = new Map();
  const entry = (n) => {
    const key = keyOf(n);
    let e = functions.get(key);
    if (!e) {
      const { functionName, url } = n.callFrame;
      e = { name: functionName || '(anonymous)', owner: ownerOf(url, functionName), place: where(n.callFrame), selfMs: 0, totalMs: 0 };
      functions.set(key, e);
    }
    return e;
  };
  let busyMs = 0;
  let t = profile.startTime;
  const from = profile.endTime - window.fromEndMs * 1000;
  const to = profile.endTime - window.toEndMs * 1000;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    t += profile.timeDeltas[i] ?? 0;
    if (t < from || t > to) return;
    const leaf = byId.get(id);
    if (leaf.callFrame.functionName === '(idle)') return;
    busyMs += ms;
    entry(leaf).selfMs += ms;
    // Total time counts a function once per sample even when it recurses.
    const seen = new Set();
    for (let n = leaf; n; n = byId.get(parent.get(n.id))) {
      const e = entry(n);
      if (seen.has(e)) continue;
      seen.add(e);
      e.totalMs += ms;
    }
  });
  const owners = new Map();
  for (const e of functions.values()) owners.set(e.owner, (owners.get(e.owner) ?? 0) + e.selfMs);
  return {
    busyMs,
    functions: [...functions.values()].sort((a, b) => b.selfMs - a.selfMs),
    owners: [...owners].map(([owner, selfMs]) => ({ owner, selfMs })).sort((a, b) => b.selfMs - a.selfMs),
  };
}
