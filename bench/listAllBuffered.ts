/**
 * For comparison with bench/listAll.ts: what the same answer costs when it is built in memory in
 * one go (every key read into one array, presented, then stringified), as a list without
 * streaming would build it. Prints the RSS growth in MB.
 *   node --import tsx bench/listAllBuffered.ts <database url>
 */
import { readFileSync } from 'node:fs';
import { presentApiKey } from '../src/http/apiKeys/present.js';
import { chunks } from '../src/service/listing.js';
import { Store } from '../src/store/store.js';

const rss = () => Number(readFileSync('/proc/self/status', 'utf8').match(/VmRSS:\s+(\d+)/)![1]) / 1024;
const store = await Store.open(process.argv[2]);
const admin = await store.users.findByEmail('admin@keyward.local');
const filter = { tenantUid: admin!.tenantUid };
const source = { page: (r: any) => store.apiKeys.page(filter, r), count: (u: any) => store.apiKeys.count(filter, u) };
// Warm the code paths first, so that the figure is the data's, not the JIT's.
for await (const c of chunks(source, { offset: 0 })) if (c.length) break;
const before = rss();
let peak = before;
const sampler = setInterval(() => (peak = Math.max(peak, rss())), 5);
const keys = [];
for await (const c of chunks(source, { offset: 0 })) keys.push(...c);
const now = Date.now();
const body = JSON.stringify({ items: keys.map((k) => presentApiKey(k, now)) });
peak = Math.max(peak, rss());
clearInterval(sampler);
console.log(JSON.stringify({ keys: keys.length, bytes: body.length, growthMb: peak - before }));
await store.close();
