/**
 * GET /v1/users?search=: the console's user pickers find any user of the tenant, past the first
 * 1,000, by part of their email or name in any case, a page at a time; tenant admins only, the
 * caller's tenant only, and the text is text (LIKE's wildcards match only themselves).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { insertUsers } from './helpers/bulk.js';
import { type Caller, eachDatabase, type Harness } from './helpers/harness.js';
import { assertPalette } from './helpers/palette.js';

async function search(h: Harness, who: Caller, text: string, extra = '') {
  const res = await h.inject('GET', `/v1/users?search=${encodeURIComponent(text)}${extra}`, { headers: who.auth });
  assert.equal(res.statusCode, 200, `search ${JSON.stringify(text)}: ${res.body}`);
  assertPalette('v1Users', res.json());
  return res.json();
}

const emails = (body: any): string[] => body.items.map((u: any) => u.spec.emailId).sort();

eachDatabase('user search', (h) => {
  let admin: Caller;
  let people: Record<string, string>;

  it('finds users by part of the email, first, last or full name, in any case, past the first 1,000', async () => {
    admin = await h().createTenant(`search-${Date.now()}`);
    // A crowd first, so the people below are past the first 1,000 users oldest first; and another
    // crowd after, so they are past the first 1,000 newest first too.
    await insertUsers(h().store, { tenantUid: admin.tenantUid, count: 1100, createdAt: h().clock.now + 1, prefix: 'crowd-a' });
    h().clock.now += 10;
    people = {};
    for (const [key, spec] of Object.entries({
      alice: { emailId: 'alice.smith@example.com', firstName: 'Alice', lastName: 'Smith' },
      alicia: { emailId: 'ajones@example.org', firstName: 'ALICIA', lastName: 'Jones' },
      percent: { emailId: 'pct@example.com', firstName: 'Hundred', lastName: '100% Sure' },
      underscore: { emailId: 'under_score@example.com', firstName: 'Under', lastName: 'Score' },
      backslash: { emailId: 'bs@example.com', firstName: 'Back\\slash', lastName: 'Person' },
    })) {
      const res = await h().inject('POST', '/v1/users', { headers: admin.auth, body: { spec } });
      assert.equal(res.statusCode, 201, res.body);
      people[key] = spec.emailId;
    }
    await insertUsers(h().store, { tenantUid: admin.tenantUid, count: 1100, createdAt: h().clock.now + 20, prefix: 'crowd-b' });
    const all = (await h().inject('GET', '/v1/users?limit=0', { headers: admin.auth })).json();
    assert.equal(all.listmeta.count, 2206);
    const firstThousand = new Set((await h().inject('GET', '/v1/users', { headers: admin.auth })).json().items.map((u: any) => u.spec.emailId));
    const newestThousand = new Set((await h().inject('GET', '/v1/users?orderBy=metadata.creationTimestamp=-1', { headers: admin.auth })).json().items.map((u: any) => u.spec.emailId));
    assert.ok(!firstThousand.has(people.alice) && !newestThousand.has(people.alice), 'the people are past the first 1,000 either way');

    const found = await search(h(), admin, 'alic');
    assert.deepEqual(emails(found), [people.alicia, people.alice].sort(), 'a first-name prefix, whatever its case');
    assert.equal(found.listmeta.count, 2);
    assert.deepEqual(emails(await search(h(), admin, 'ALICE')), [people.alice]);
    assert.deepEqual(emails(await search(h(), admin, 'smith')), [people.alice], 'part of a last name');
    assert.deepEqual(emails(await search(h(), admin, 'Alice Smith')), [people.alice], 'first and last name together');
    assert.deepEqual(emails(await search(h(), admin, 'JONES@EXAMPLE.ORG')), [people.alicia], 'part of an email, in capitals');
    assert.deepEqual(emails(await search(h(), admin, '  smith ')), [people.alice], 'spaces around the text are not part of it');
    assert.deepEqual((await search(h(), admin, 'nobody-by-this-name')).items, []);
    // One of the crowd, by its generated email.
    const one = all.items.find((u: any) => u.spec.emailId.startsWith('crowd-a-1099-')).spec.emailId;
    assert.deepEqual(emails(await search(h(), admin, one.toUpperCase())), [one]);
  });

  it("LIKE's wildcards and its escape character are plain text", async () => {
    assert.deepEqual(emails(await search(h(), admin, '%')), [people.percent], '% finds a literal %, not everyone');
    assert.deepEqual(emails(await search(h(), admin, '0% s')), [people.percent]);
    assert.deepEqual(emails(await search(h(), admin, '_')), [people.underscore], '_ finds a literal _, not every user');
    assert.deepEqual(emails(await search(h(), admin, 'r_s')), [people.underscore]);
    assert.deepEqual(emails(await search(h(), admin, '\\')), [people.backslash]);
    assert.deepEqual(emails(await search(h(), admin, 'back\\s')), [people.backslash]);
    assert.deepEqual((await search(h(), admin, '%%')).items, []);
  });

  it('pages through the matches: limit, continue, offset and newest first count only them', async () => {
    const text = 'crowd-b-109'; // crowd-b-109 and crowd-b-1090 … crowd-b-1099
    const all = await search(h(), admin, text, '&limit=0');
    assert.equal(all.items.length, 11);
    assert.equal(all.listmeta.count, 11);
    const seen: string[] = [];
    let next = '';
    do {
      const page = await search(h(), admin, text, `&limit=4${next ? `&continue=${next}` : ''}`);
      assert.ok(page.items.length <= 4);
      assert.equal(page.listmeta.count, 11);
      seen.push(...page.items.map((u: any) => u.metadata.uid));
      assert.equal(page.listmeta.offset, seen.length);
      next = page.listmeta.continue;
    } while (next);
    assert.deepEqual(seen, all.items.map((u: any) => u.metadata.uid));
    const newest = await search(h(), admin, text, '&limit=0&orderBy=metadata.creationTimestamp=-1');
    assert.deepEqual(newest.items.map((u: any) => u.metadata.uid), [...seen].reverse());
    const byOffset = await search(h(), admin, text, '&limit=5&offset=10');
    assert.deepEqual(byOffset.items.map((u: any) => u.metadata.uid), seen.slice(10));
    const first = await search(h(), admin, 'alic', '&limit=1');
    assert.equal(first.items.length, 1);
    assert.equal(first.listmeta.count, 2);
    assert.notEqual(first.listmeta.continue, '');
    // An empty search is no search.
    assert.equal((await search(h(), admin, '', '&limit=1')).listmeta.count, 2206);
  });

  it("only tenant admins search, and only their own tenant's users", async () => {
    const plain = await h().createUser({ by: admin });
    const res = await h().inject('GET', '/v1/users?search=alice', { headers: plain.auth });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().code, 'Forbidden');
    // The first tenant's admin searches the same words and sees none of this tenant's people.
    const other = await search(h(), h().admin, 'alice');
    assert.deepEqual(other.items, []);
    assert.equal(other.listmeta.count, 0);
    assert.deepEqual(emails(await search(h(), h().admin, 'admin@example.com')), ['admin@example.com']);
  });

  it('a bad search is a 400 that says why', async () => {
    const cases: [string, RegExp][] = [
      [`search=${'x'.repeat(129)}`, /search must NOT have more than 128 characters/],
      ['search=a%00b', /NUL/],
      ['search=%1B%5B2J', /search must not contain control/],
      ['search=%E2%80%AE', /search must not contain control or invisible formatting characters \(found U\+202E\)/],
      ['search=a&search=b', /search must be string/],
    ];
    for (const [query, message] of cases) {
      const res = await h().inject('GET', `/v1/users?${query}`, { headers: admin.auth });
      assert.equal(res.statusCode, 400, `${query}: ${res.body}`);
      const body = res.json();
      assert.equal(body.code, 'BadRequest');
      assert.match(body.message, message, query);
      assert.deepEqual(Object.keys(body).sort(), ['code', 'details', 'message', 'ref']);
    }
    assert.equal((await search(h(), admin, 'x'.repeat(128))).items.length, 0, '128 characters are allowed');
  });
});
