/**
 * package.json's `engines` names the real Node.js floor: no version it admits lacks an API the
 * server calls, or is refused by a dependency (Vite 8 builds the console during npm ci).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { it } from 'node:test';

// npm's own range logic, which Fastify depends on (no types are installed for it, hence any).
const semver: any = createRequire(import.meta.url)('semver');

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const engines: string = pkg.engines.node;

// Where each API the code calls first appeared, on each release line.
const features: Record<string, string> = {
  'crypto.hash (service/verifier.ts)': '^20.12.0 || >=21.7.0',
  'zlib.crc32 (domain/apiKeyFormat.ts)': '^20.15.0 || >=22.2.0',
};

it('every Node.js version engines admits has the APIs the code calls', () => {
  for (const [feature, since] of Object.entries(features)) {
    assert.ok(semver.subset(engines, since), `engines "${engines}" admits versions without ${feature} (${since})`);
  }
});

it('the lowest version of each release line engines admits satisfies every dependency', () => {
  const floors = new semver.Range(engines).set.map((comparators: { value: string }[]) => semver.minVersion(comparators.map((c) => c.value).join(' ')).version as string);
  const names = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)];
  let checked = 0;
  for (const name of names) {
    const dep = JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8'));
    const range = dep.engines?.node;
    if (!range) continue;
    checked++;
    for (const floor of floors) assert.ok(semver.satisfies(floor, range), `${name} needs Node.js ${range}; engines admits ${floor}`);
  }
  assert.ok(checked > 5, 'the dependencies were read');
});

it('the package lock records the same engines', () => {
  const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8'));
  assert.equal(lock.packages[''].engines.node, engines);
});
