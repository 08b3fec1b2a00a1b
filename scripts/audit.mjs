#!/usr/bin/env node
/**
 * `npm audit`, failing on any high or critical advisory in the installed tree (production and
 * development dependencies alike). Where the registry refuses the audit endpoint (some mirrors
 * answer 405), it says so plainly and does not fail: nothing was checked, and that is reported
 * as such rather than as a pass; it then lists installed packages with newer allowed releases.
 */
import { spawnSync } from 'node:child_process';

const run = spawnSync('npm', ['audit', '--json'], { encoding: 'utf8', timeout: 120_000 });
let report;
try {
  report = JSON.parse(run.stdout);
} catch {
  report = null;
}
if (!report?.metadata?.vulnerabilities) {
  const why = report?.message ?? run.stderr?.trim().split('\n').at(-1) ?? 'no answer';
  console.log(`npm audit: NOT CHECKED: the registry did not answer the audit request (${why}).`);
  // The next best thing the registry does answer: is every installed package the newest release
  // its dependents allow? Security fixes ship as such releases; a package behind is worth a look.
  const outdated = spawnSync('npm', ['outdated', '--all', '--json'], { encoding: 'utf8', timeout: 120_000 });
  let entries = {};
  try {
    entries = JSON.parse(outdated.stdout || '{}');
  } catch {}
  const behind = Object.entries(entries)
    .flatMap(([name, v]) => (Array.isArray(v) ? v : [v]).map((x) => ({ name, ...x })))
    .filter((x) => x.current && x.current !== x.wanted && !x.name.startsWith('@types/'));
  if (behind.length === 0) console.log('npm outdated: every installed package is the newest release its dependents allow.');
  for (const x of behind) console.log(`npm outdated: ${x.name} ${x.current} is installed; ${x.wanted} is allowed by ${x.dependent}.`);
  process.exit(0);
}
const counts = report.metadata.vulnerabilities;
const serious = Object.values(report.vulnerabilities ?? {}).filter((v) => v.severity === 'high' || v.severity === 'critical');
if (serious.length > 0) {
  console.error('npm audit: high or critical advisories:');
  for (const v of serious) console.error(`  ${v.name} (${v.severity}, ${v.range}): ${v.via.map((x) => (typeof x === 'string' ? x : x.title)).join('; ')}`);
  process.exit(1);
}
console.log(`npm audit: no high or critical advisories (${counts.moderate} moderate, ${counts.low} low, ${counts.info} info).`);
