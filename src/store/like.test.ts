import assert from 'node:assert/strict';
import { it } from 'node:test';
import { containsPattern } from './like.js';

it("escapes LIKE's wildcards and its escape character, and nothing else", () => {
  assert.equal(containsPattern('alice'), '%alice%');
  assert.equal(containsPattern('100%'), '%100\\%%');
  assert.equal(containsPattern('a_b'), '%a\\_b%');
  assert.equal(containsPattern('back\\slash'), '%back\\\\slash%');
  assert.equal(containsPattern('%_\\'), '%\\%\\_\\\\%');
  assert.equal(containsPattern("o'brien [x] *"), "%o'brien [x] *%");
});
