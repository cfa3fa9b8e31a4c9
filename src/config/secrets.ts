import { readFileSync } from 'node:fs';
import { SwitchyardError } from '../util/errors.js';

/**
 * Resolves `env:NAME` or `file:/path` at the moment the secret is needed, so that a rotated file
 * is picked up on the next connection and the value never sits in the parsed configuration.
 */
export function resolveSecret(ref: string, env: NodeJS.ProcessEnv = process.env): string {
  if (ref.startsWith('env:')) {
    const name = ref.slice(4);
    const value = env[name];
    if (value === undefined)
      throw new SwitchyardError('SECRET_UNRESOLVED', `environment variable ${name} is not set`);
    return value;
  }
  if (ref.startsWith('file:')) {
    const path = ref.slice(5);
    try {
      return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new SwitchyardError(
        'SECRET_UNRESOLVED',
        `secret file ${path} cannot be read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      );
    }
  }
  throw new SwitchyardError('SECRET_UNRESOLVED', 'a secret must be referenced as env:NAME or file:/path');
}
