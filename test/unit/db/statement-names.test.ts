/** Which texts get a prepared statement's name: repeated parameterized texts, bounded. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatementNames } from '../../../src/db/prepared-statements.js';

test('a text is named from its second sighting, and keeps its name', () => {
  const names = new StatementNames();
  assert.equal(names.nameOf('SELECT $1'), undefined);
  const name = names.nameOf('SELECT $1');
  assert.ok(name);
  assert.equal(names.nameOf('SELECT $1'), name);
  assert.equal(names.size, 1);
});

test('different texts get different names', () => {
  const names = new StatementNames();
  for (const t of ['a $1', 'b $1', 'a $1', 'b $1']) names.nameOf(t);
  assert.notEqual(names.nameOf('a $1'), names.nameOf('b $1'));
});

test('one-off texts never take a name, and the candidates stay bounded', () => {
  const names = new StatementNames();
  for (let i = 0; i < 10_000; i++) assert.equal(names.nameOf(`INSERT ${i} $1`), undefined);
  assert.equal(names.size, 0);
  // The oldest candidates were forgotten: their second sighting is a first one again.
  assert.equal(names.nameOf('INSERT 0 $1'), undefined);
  assert.ok(names.nameOf('INSERT 9999 $1'));
});

test('very long texts and texts past the bound are left unnamed', () => {
  const names = new StatementNames();
  const long = `SELECT ${'x'.repeat(20_000)} $1`;
  names.nameOf(long);
  assert.equal(names.nameOf(long), undefined);
  for (let i = 0; i < 600; i++) { names.nameOf(`q${i} $1`); names.nameOf(`q${i} $1`); }
  assert.equal(names.size, 500);
  assert.equal(names.nameOf('q599 $1'), undefined);
  assert.ok(names.nameOf('q0 $1'));
});

test('a text whose result columns follow the tables (*) is never named', () => {
  const names = new StatementNames();
  for (const t of ['select * from "volume" where "id" = $1', 'UPDATE v SET a = $1 RETURNING *', 'SELECT n.* FROM node n WHERE n.inode = $1']) {
    names.nameOf(t);
    assert.equal(names.nameOf(t), undefined, t);
  }
  names.nameOf('SELECT $1::int * $2::int');
  assert.ok(names.nameOf('SELECT $1::int * $2::int'), 'a product is not a star');
});
