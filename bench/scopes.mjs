/**
 * The `scopes` part of `npm run bench` (BENCH_PARTS=scopes): issue 11's performance goal, "a
 * verification with a scope expression and a forward-auth request matched against 1,000 route
 * rules each cost at most 10 % more server CPU per request than a plain verification".
 *
 * On each database, with the keys bench/run.mjs seeded (100,000 of the tenant admin's, one of
 * them, scoped `*`, the caller) plus a few scoped keys made here through the API, it measures
 * the server's own CPU time per request (user + system, /proc/<pid>/stat, as the throughput
 * part) and requests/s for:
 *   a  POST /v1/apiKeys/verify {key}: a plain verification, the caller a tenant admin's key;
 *   b  the same with require "orders:read AND (orders:write OR admin:*)", keys that hold it;
 *   b' the same with keys that do not (answered valid: false, INSUFFICIENT_SCOPE);
 *   c  GET /v1/auth/check with the key in ApiKey, the tenant without route rules;
 *   d  GET /v1/auth/check with X-Original-Method and X-Original-URI, a mix of methods and paths
 *      matched against the tenant's 1,000 route rules (the matching rules among the last 40),
 *      and ?require=.
 * Every target is measured in the same server process, one after another, in an order that
 * turns each round: one process of the same code can sit well above another for its whole life
 * on a shared machine, so the ratios are read within a process, and their medians over rounds
 * (BENCH_SCOPES_ROUNDS, 3 by default) reported. BENCH_SCOPES_LOG_LEVELS (warn by default; a
 * comma list such as warn,info) picks Keyward's log level: at warn no access line dilutes the
 * ratios.
 */
import autocannon from 'autocannon';

const GOAL = 1.1;
const REQUIRE = 'orders:read AND (orders:write OR admin:*)';
/** The tenant's own scopes, for the services behind Keyward (keys may hold only known scopes). */
const CATALOGUE = ['orders:read', 'orders:write', 'admin:users', 'admin:billing'];
const SERVICES = 125;
const FORWARD_REQUIRE = 'orders:read';

/**
 * 1,000 rules, eight per service behind the proxy, as a tenant with 125 services might write
 * them: exact paths, `*` and `**`, methods, and expressions with AND and OR.
 */
function routeRules() {
  const rules = [];
  for (let i = 0; i < SERVICES; i++) {
    const s = `/svc-${String(i).padStart(3, '0')}`;
    rules.push(
      { methods: ['GET'], path: `${s}/v1/orders`, require: 'orders:read' },
      { methods: ['GET'], path: `${s}/v1/orders/*`, require: 'orders:read' },
      { methods: ['POST', 'PUT', 'PATCH'], path: `${s}/v1/orders/**`, require: 'orders:write' },
      { methods: ['DELETE'], path: `${s}/v1/orders/**`, require: 'orders:write AND admin:users' },
      { methods: ['GET'], path: `${s}/v1/customers/*/orders/**`, require: 'orders:read' },
      { methods: ['*'], path: `${s}/admin/**`, require: 'admin:*' },
      { methods: ['GET'], path: `${s}/health`, require: '' },
      { methods: ['*'], path: `${s}/**`, require: 'orders:read OR admin:*' },
    );
  }
  return { mode: 'enforce', default: 'deny', rules };
}

/**
 * What the proxy asks about in (d): requests to the last five services, so that each matching
 * rule is among the last 40 of 1,000, over each kind of rule, with queries and an id per path.
 */
function originalRequests() {
  const out = [];
  for (let i = SERVICES - 5; i < SERVICES; i++) {
    const s = `/svc-${String(i).padStart(3, '0')}`;
    const id = 1000 + i;
    out.push(
      ['GET', `${s}/v1/orders?limit=50&status=open`],
      ['GET', `${s}/v1/orders/${id}`],
      ['POST', `${s}/v1/orders/${id}/items`],
      ['PATCH', `${s}/v1/orders/${id}`],
      ['DELETE', `${s}/v1/orders/${id}/items/7`],
      ['GET', `${s}/v1/customers/c-${id}/orders/${id}/lines`],
      ['GET', `${s}/admin/users/42`],
      ['HEAD', `${s}/health`],
      ['GET', `${s}/static/js/app.${id}.js`],
    );
  }
  return out;
}

const json = (headers) => ({ ...headers, 'content-type': 'application/json' });

async function call(url, method, path, headers, body) {
  const res = await fetch(`${url}${path}`, { method, headers: json(headers), body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text === '' ? undefined : JSON.parse(text);
}

/**
 * The tenant's catalogue and the scoped keys, made through the API on a server over the seeded
 * database; the keys in clear for the load (benchmark data only).
 */
async function prepare(server, callerKey) {
  const caller = { ApiKey: callerKey };
  for (const name of CATALOGUE) await call(server.url, 'PUT', `/v1/scopes/${name}`, caller, { description: `bench: ${name}` });
  const expiry = new Date(Date.now() + 30 * 86_400_000).toISOString();
  const make = async (name, scopes) => (await call(server.url, 'POST', '/v1/apiKeys', caller, { metadata: { name }, spec: { expiry, scopes } })).apiKey;
  return {
    // Keys holding the requirement, through either alternative of its OR.
    holding: [
      await make('bench-scoped-rw', ['orders:read', 'orders:write']),
      await make('bench-scoped-ra', ['orders:read', 'admin:*']),
      await make('bench-scoped-all', ['orders:read', 'orders:write', 'admin:users', 'admin:billing']),
      await make('bench-scoped-rwa', ['orders:read', 'orders:write', 'admin:*']),
    ],
    // Keys short of it: orders:write missing (and admin:*), orders:read missing.
    short: [await make('bench-scoped-r', ['orders:read']), await make('bench-scoped-w', ['orders:write', 'admin:users'])],
    // The forward-auth key: every rule of (d) and ?require= pass with it.
    forward: await make('bench-forward', ['orders:read', 'orders:write', 'admin:*']),
  };
}

/** The measured targets, each as autocannon requests (cycled per connection) and a check of one answer of each. */
function targets(callerKey, keys) {
  const caller = { ApiKey: callerKey };
  const verify = (bodies) =>
    bodies.map((body) => ({ method: 'POST', path: '/v1/apiKeys/verify', headers: json(caller), body: JSON.stringify(body) }));
  return [
    {
      id: 'a',
      name: '(a) verify {key}',
      rules: false,
      requests: verify(keys.holding.map((key) => ({ key }))),
      expect: (status, body) => status === 200 && body.valid === true,
    },
    {
      id: 'b',
      name: `(b) verify {key, require}, keys holding it`,
      rules: false,
      requests: verify(keys.holding.map((key) => ({ key, require: REQUIRE }))),
      expect: (status, body) => status === 200 && body.valid === true && body.code === 'VALID',
    },
    {
      id: 'b-refused',
      name: `(b') verify {key, require}, keys short of it`,
      rules: false,
      requests: verify(keys.short.map((key) => ({ key, require: REQUIRE }))),
      expect: (status, body) => status === 200 && body.valid === false && body.code === 'INSUFFICIENT_SCOPE' && body.missing.length > 0,
    },
    {
      id: 'c',
      name: '(c) auth/check, no route rules',
      rules: false,
      requests: [{ method: 'GET', path: '/v1/auth/check', headers: { ApiKey: keys.forward } }],
      expect: (status) => status === 200,
    },
    {
      id: 'd',
      name: '(d) auth/check, 1,000 route rules, ?require=',
      rules: true,
      requests: originalRequests().map(([method, uri]) => ({
        method: 'GET',
        path: `/v1/auth/check?require=${encodeURIComponent(FORWARD_REQUIRE)}`,
        headers: { ApiKey: keys.forward, 'X-Original-Method': method, 'X-Original-URI': uri },
      })),
      expect: (status) => status === 200,
    },
  ];
}

/** Each distinct request of a target once, answered as the target means (else its figures would measure refusals). */
async function check(url, target) {
  for (const r of target.requests) {
    const res = await fetch(`${url}${r.path}`, { method: r.method, headers: r.headers, body: r.body });
    const body = await res.json();
    if (!target.expect(res.status, body)) throw new Error(`${target.name}: ${r.method} ${r.path} ${r.body ?? JSON.stringify(r.headers)} answered ${res.status} ${JSON.stringify(body)}`);
  }
}

/** requests/s and the server's CPU per request under autocannon, after a warm-up (as run.mjs's throughput). */
async function measure(server, target, { connections, duration, cpuSeconds }) {
  const opts = { url: server.url, requests: target.requests, connections };
  await autocannon({ ...opts, duration: 2 });
  const before = cpuSeconds(server.proc.pid);
  const r = await autocannon({ ...opts, duration });
  const after = cpuSeconds(server.proc.pid);
  if (r.non2xx || r.errors) throw new Error(`${target.name}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
  const system = after.system - before.system;
  const cpu = after.user - before.user + system;
  if (cpu < 2) console.error(`  only ${cpu.toFixed(2)} s of server CPU: raise BENCH_DURATION for a precise CPU per request`);
  return { rps: r.requests.average, requests: r.requests.total, cpuUsPerRequest: (cpu * 1e6) / r.requests.total, systemUsPerRequest: (system * 1e6) / r.requests.total };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Runs the part. `databases`: [{name, url, key}] with `key` a seeded key of the tenant admin
 * (scopes `*`); `keyward(url, env)` starts a server (run.mjs's); `cpuSeconds(pid)` reads a
 * process's CPU (run.mjs's). Returns Markdown lines and the figures.
 */
export async function scopesBench({ databases, keyward, stop, cpuSeconds, assertServerProcess, connections, duration, f }) {
  const rounds = Number(process.env.BENCH_SCOPES_ROUNDS ?? 3);
  const levels = (process.env.BENCH_SCOPES_LOG_LEVELS ?? 'warn').split(',');
  const rules = routeRules();
  const noRules = { mode: 'enforce', default: 'allow', rules: [] };
  const results = [];
  for (const level of levels) {
    for (const db of databases) {
      let keys;
      const perRound = [];
      for (let round = 0; round < rounds; round++) {
        const server = await keyward(db.url, { KEYWARD_LOG_LEVEL: level });
        try {
          assertServerProcess(server.proc.pid);
          keys ??= await prepare(server, db.key);
          const all = targets(db.key, keys);
          // Turn the order every round, so that drift in the machine or the process falls on each target in turn.
          const order = all.map((_, i) => all[(i + round) % all.length]);
          // The first target in a fresh process ran up to a third dearer than the same target
          // later in it (more of Fastify and Keyward still to compile): warm every target first.
          for (const t of order) {
            await call(server.url, 'PUT', '/v1/authRoutes', { ApiKey: db.key }, t.rules ? rules : noRules);
            await autocannon({ url: server.url, requests: t.requests, connections, duration: 2 });
          }
          const measured = {};
          for (const t of order) {
            await call(server.url, 'PUT', '/v1/authRoutes', { ApiKey: db.key }, t.rules ? rules : noRules);
            await check(server.url, t);
            console.error(`scopes: ${db.name}, log level ${level}, round ${round + 1} of ${rounds}: ${t.name}…`);
            measured[t.id] = await measure(server, t, { connections, duration, cpuSeconds });
            console.error(`  ${f(measured[t.id].rps)} requests/s, ${f(measured[t.id].cpuUsPerRequest, 1)} µs of server CPU per request`);
          }
          perRound.push(measured);
        } finally {
          await call(server.url, 'PUT', '/v1/authRoutes', { ApiKey: db.key }, noRules).catch(() => {});
          await stop(server);
        }
      }
      const names = Object.fromEntries(targets(db.key, keys).map((t) => [t.id, t.name]));
      const ratio = (x, y) => perRound.map((m) => m[x].cpuUsPerRequest / m[y].cpuUsPerRequest);
      results.push({
        db: db.name,
        level,
        names,
        rounds: perRound,
        ratios: { 'b/a': ratio('b', 'a'), "b'/b": ratio('b-refused', 'b'), 'd/c': ratio('d', 'c'), 'd/a': ratio('d', 'a') },
      });
    }
  }

  const lines = [
    `Issue 11's goal: (b) and (d) each at most ${GOAL}× the server CPU per request of (a). Load: autocannon, ${connections} connections, ${duration} s after 2 s of warm-up, the requests of each target cycled per connection; all targets in one server process per round, in an order turned each round; ${rounds} rounds per database, each figure the median of its rounds (each ratio the median of the rounds' ratios). Require: \`${REQUIRE}\`; (d): 1,000 rules, 125 services × 8, default deny, 45 distinct original requests (9 kinds × the last 5 services: matching rules among the last 40), \`?require=${FORWARD_REQUIRE}\`.`,
    '',
    '| database, log level | ratio | measured (median) | each round | target | |',
    '| --- | --- | ---: | --- | ---: | --- |',
  ];
  for (const r of results) {
    for (const [name, xs] of Object.entries(r.ratios)) {
      const bound = name === 'b/a' || name === 'd/a' ? GOAL : undefined;
      const m = median(xs);
      lines.push(
        `| ${r.db}, ${r.level} | ${name} | ${f(m, 2)}× | ${xs.map((x) => f(x, 2)).join(', ')} | ${bound ? `≤ ${bound}×` : '(none)'} | ${bound ? (m <= bound ? 'met' : '**missed**') : ''} |`,
      );
    }
  }
  lines.push('', '| database, log level | target | requests/s | server CPU per request (µs) | of which system (µs) | CPU per request, each round (µs) |', '| --- | --- | ---: | ---: | ---: | --- |');
  for (const r of results) {
    for (const [id, name] of Object.entries(r.names)) {
      const pick = (k) => median(r.rounds.map((m) => m[id][k]));
      lines.push(
        `| ${r.db}, ${r.level} | ${name} | ${f(pick('rps'))} | ${f(pick('cpuUsPerRequest'), 1)} | ${f(pick('systemUsPerRequest'), 1)} | ${r.rounds.map((m) => f(m[id].cpuUsPerRequest, 1)).join(', ')} |`,
      );
    }
  }
  lines.push('');
  return { lines, results };
}
