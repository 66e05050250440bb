#!/usr/bin/env node
// npm run docs: builds, then writes the generated files of docs/ (src/schemas/docs.ts) from the compiled code.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { generateDocs } = await import(pathToFileURL(join(root, 'dist/src/schemas/docs.js')).href);
for (const [path, content] of Object.entries(await generateDocs())) {
  writeFileSync(join(root, path), content);
  console.log(`wrote ${path}`);
}
