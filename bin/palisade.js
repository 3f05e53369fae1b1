#!/usr/bin/env node
// The `palisade` command line. Runs the compiled CLI from dist/ (build it with `npm run build`).
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const entry = join(__dirname, '..', 'dist', 'libs', 'cli', 'src', 'main.js');
if (!existsSync(entry)) {
  console.error('palisade: not built yet — run `npm ci && npm run build` in the repository first');
  process.exit(2);
}
const { main } = require(entry);
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`palisade: ${error && error.message ? error.message : error}`);
    process.exit(1);
  },
);
