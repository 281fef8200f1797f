// Unit tests of the French formatting, run with node's test runner (`npm test`) after
// TypeScript's type-stripping is not needed: format.ts is plain enough to load as a module copy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const source = readFileSync(join(here, 'format.ts'), 'utf8')
  .replace(/: Record<string, string>/g, '')
  .replace(/\(amount: string\): string/g, '(amount)')
  .replace(/\(iso: string\): string/g, '(iso)')
  .replace(/\(b: boolean\)/g, '(b)')
  .replace(/\(a: unknown, b: unknown\): number/g, '(a, b)')
  .replace(/\(v: unknown\)/g, '(v)')
  .replace(/\(rfc3339: string\): string/g, '(rfc3339)')
  .replace(/\(n: number\)/g, '(n)')
  .replace(/\(text: string\): string \| null/g, '(text)');
const file = join(mkdtempSync(join(tmpdir(), 'regie-format-')), 'format.mjs');
writeFileSync(file, source);
const f = await import(file);

test('amounts in French', () => {
  assert.equal(f.euros('1630.50'), '1\u202f630,50 €');
  assert.equal(f.euros('-200.31'), '-200,31 €');
  assert.equal(f.euros('0.00'), '0,00 €');
  assert.equal(f.frenchNumber('1234567.89'), '1\u202f234\u202f567,89');
});

test('dates in French', () => {
  assert.equal(f.frDate('2025-09-10'), '10/09/2025');
});

test('sorting compares amounts as numbers and text the French way', () => {
  assert.ok(f.compareCells('1630.50', '200.00') > 0);
  assert.ok(f.compareCells('Éloïse', 'Zoé') < 0);
});

test('instants in French, local time', () => {
  const shown = f.frDateTime('2026-12-01T09:30:05.123+00:00');
  assert.match(shown, /^\d\d\/12\/2026 \d\d:\d\d$/);
  const local = new Date('2026-12-01T09:30:05.123+00:00');
  assert.ok(shown.endsWith(`${String(local.getHours()).padStart(2, '0')}:30`), shown);
  assert.equal(f.frDateTime('pas une date'), 'pas une date');
});

test('dates typed in French', () => {
  assert.equal(f.parseFrDate('05/09/2025'), '2025-09-05');
  assert.equal(f.parseFrDate(' 5/9/2025 '), '2025-09-05');
  assert.equal(f.parseFrDate('05.09.2025'), '2025-09-05');
  assert.equal(f.parseFrDate('29/02/2024'), '2024-02-29');
  assert.equal(f.parseFrDate('29/02/2025'), null);
  assert.equal(f.parseFrDate('31/04/2025'), null);
  assert.equal(f.parseFrDate('2025-09-05'), null);
  assert.equal(f.parseFrDate('05/09/25'), null);
  assert.equal(f.parseFrDate('demain'), null);
});
