// Compiles every service and lib from TypeScript to CommonJS in dist/ with swc.
// Type-checking is `npm run typecheck` (tsc --noEmit); swc only transpiles, so a build takes a second.
// Why CommonJS: NestJS 12 is ESM-only, but Node >= 20.19 loads ESM through require(), and the
// same CJS output runs under Jest without experimental VM modules.
import { transformFile } from '@swc/core';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist');
const tsconfig = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8'));

export const swcOptions = (baseUrl) => ({
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    keepClassNames: true,
    baseUrl,
    paths: tsconfig.compilerOptions.paths,
  },
  module: { type: 'commonjs' },
  sourceMaps: true,
});

async function* sources(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules' || entry.name === 'test' || entry.name === '__fixtures__') continue;
      yield* sources(path);
    } else if (/\.ts$/.test(entry.name) && !/\.(spec|int-spec|e2e-spec)\.ts$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      yield path;
    }
  }
}

await rm(out, { recursive: true, force: true });
let count = 0;
for (const top of ['libs', 'services', 'bench']) {
  for await (const file of sources(join(root, top))) {
    const target = join(out, relative(root, file)).replace(/\.ts$/, '.js');
    const result = await transformFile(file, { ...swcOptions(root), sourceFileName: relative(dirname(target), file) });
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, result.code + `\n//# sourceMappingURL=${target.split('/').pop()}.map\n`);
    await writeFile(target + '.map', result.map);
    count++;
  }
}
console.log(`built ${count} files into dist/`);
