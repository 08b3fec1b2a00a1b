import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeForTerminal, jsonForTerminal, safe } from './escape.js';

describe('CLI output escaping', () => {
  it('writes control, format and separator characters as escapes', () => {
    assert.equal(escapeForTerminal('\u001b[31mred\u001b[0m'), '\\u001b[31mred\\u001b[0m');
    assert.equal(escapeForTerminal('\u001b]0;title\u0007'), '\\u001b]0;title\\u0007');
    assert.equal(escapeForTerminal('a\nb\tc\rd'), 'a\\nb\\tc\\rd');
    assert.equal(escapeForTerminal('\u009b2J \u007f \u0000'), '\\u009b2J \\u007f \\u0000');
    assert.equal(escapeForTerminal('evil\u202Etxt.exe \u200B\u200D\u00AD\uFEFF'), 'evil\\u202etxt.exe \\u200b\\u200d\\u00ad\\ufeff');
    assert.equal(escapeForTerminal('a\u2028b\u2029c'), 'a\\u2028b\\u2029c');
    assert.equal(escapeForTerminal('tag\u{E0041}'), 'tag\\u{e0041}');
    assert.equal(escapeForTerminal('lone \ud800 surrogate'), 'lone \\ud800 surrogate');
  });

  it('leaves printable text of any script alone', () => {
    for (const s of ['plain key-name_1.2', 'Zoë’s clé', 'مفتاح', 'キー 🔑', '👨‍👩‍👧'.replace(/\u200d/g, ''), 'a\\u001b literal backslash']) {
      assert.equal(escapeForTerminal(s), s);
    }
  });

  it('escapes interpolated values in a template, and keeps the template\'s own line breaks', () => {
    const name = 'x\u001b[2J';
    assert.equal(safe`Created "${name}".\nNext line ${5}`, 'Created "x\\u001b[2J".\nNext line 5');
  });

  it('JSON output holds no raw control or format character and parses back to the same data', () => {
    const data = { name: 'a\u001b[31m\u007f\u009b\u202E\u200B\u2028\u2029\u{E0041}\n', list: ['ok', 'é🔑'] };
    const out = jsonForTerminal(data);
    assert.doesNotMatch(out.replace(/\n/g, ''), /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u);
    assert.deepEqual(JSON.parse(out), data);
    assert.match(out, /é🔑/, 'printable text stays readable');
  });
});
