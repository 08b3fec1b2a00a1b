import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { logDestination } from './logDestination.js';

const dir = mkdtempSync(join(tmpdir(), 'keyward-logdest-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const lines = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `{"n":${i},"tag":"${tag}","text":"é ${'x'.repeat(i % 200)}"}\n`);

describe('log destination', () => {
  it('writes every line, in order, once flushed', async () => {
    const file = join(dir, 'a.log');
    const dest = logDestination({ fd: file, chunkChars: 1000, flushMs: 60_000 });
    const written = lines(5000, 'a');
    for (const line of written) dest.write(line);
    await new Promise<void>((resolve, reject) => dest.flush((err) => (err ? reject(err) : resolve())));
    dest.close();
    assert.equal(readFileSync(file, 'utf8'), written.join(''));
  });

  it('writes what it gathered within its interval, without a flush', async () => {
    const file = join(dir, 'b.log');
    const dest = logDestination({ fd: file, chunkChars: 1_000_000, flushMs: 50 });
    dest.write('{"one":1}\n');
    await new Promise((resolve) => setTimeout(resolve, 400));
    dest.close();
    assert.equal(readFileSync(file, 'utf8'), '{"one":1}\n');
  });

  it('writes everything when the process exits without flushing', () => {
    const file = join(dir, 'c.log');
    const module = fileURLToPath(new URL('./logDestination.ts', import.meta.url));
    const script = `
      const { logDestination } = await import(${JSON.stringify(module)});
      const dest = logDestination({ fd: ${JSON.stringify(file)}, chunkChars: 1_000_000, flushMs: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (let i = 0; i < 1000; i++) dest.write('{"n":' + i + '}\\n');
      process.exit(0);`;
    execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
    const got = readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(got.length, 1000);
    assert.equal(got[999], '{"n":999}');
  });
});
