// Loaded with `node --import`: records every module URL resolved (built-ins excepted) to the
// file named by SY_MODULE_TRACE, one per line, so a test can see what a command loaded.
import { register } from 'node:module';

register(
  `data:text/javascript,${encodeURIComponent(`
import { appendFileSync } from 'node:fs';
const out = process.env.SY_MODULE_TRACE;
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (out && !r.url.startsWith('node:')) appendFileSync(out, r.url + '\\n');
  return r;
}
`)}`,
);
