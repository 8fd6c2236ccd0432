// Parse an AsyncAPI document with the official parser (@asyncapi/parser, pinned in package.json).
// Prints {"parsed", "errors": [{code, message, path}], "warnings"} as one JSON line; exit 1 on any error.
// Relative $refs resolve against the document's own folder, as a partner's tooling would resolve them.
import { resolve } from 'node:path';
import { Parser, fromFile } from '@asyncapi/parser';

const path = resolve(process.argv[2]);
const { document, diagnostics } = await fromFile(new Parser(), path).parse();
const errors = diagnostics.filter((d) => d.severity === 0)
  .map((d) => ({ code: d.code, message: d.message, path: d.path.join('/') }));
const warnings = diagnostics.filter((d) => d.severity === 1).length;
console.log(JSON.stringify({ parsed: Boolean(document), errors, warnings }));
process.exit(document && errors.length === 0 ? 0 : 1);
