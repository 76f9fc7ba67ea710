// Run by values_test.go under Node: the browser's value rules over the shared case table.
import { readFileSync } from 'node:fs';
import { checkValue } from '../assets/js/values.js';

const cases = JSON.parse(readFileSync(process.argv[2], 'utf8'));
process.stdout.write(JSON.stringify(cases.map((c) => {
  const p = checkValue(c.claim, c.value);
  return p ? { code: p.code, limit: p.limit, text: p.text } : { code: '', limit: 0, text: '' };
})));
