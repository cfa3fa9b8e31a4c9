import { spawn } from 'node:child_process';
import type { DatabaseConfig } from '../config/schema.js';
import { type Clock, systemClock } from '../util/clock.js';
import { DEFAULT_PORT } from './connect.js';

/**
 * Runs the configured hard fence (a command that stops the old primary or cuts its network),
 * bounded by its timeout: killed with SIGKILL when late. The command gets the target in its
 * environment (SWITCHYARD_DB_ENGINE/HOST/PORT/DATABASE), never the password.
 */

export interface HardFenceOutcome {
  ran: boolean;
  ok: boolean;
  exitCode?: number | null;
  detail: string;
}

export type HardFenceRunner = (
  command: readonly string[],
  timeoutMs: number,
  env: Record<string, string>,
  clock?: Clock,
) => Promise<HardFenceOutcome>;

const MAX_OUTPUT = 2_048;

export const runHardFence: HardFenceRunner = (command, timeoutMs, env, clock = systemClock) =>
  new Promise((resolve) => {
    const [cmd, ...args] = command;
    if (!cmd) {
      resolve({ ran: false, ok: false, detail: 'empty hard-fence command' });
      return;
    }
    let output = '';
    const keep = (b: Buffer) => {
      if (output.length < MAX_OUTPUT) output = (output + b.toString('utf8')).slice(0, MAX_OUTPUT);
    };
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = clock.setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (e) => {
      clock.clearTimeout(timer);
      resolve({ ran: false, ok: false, detail: `hard fence could not start: ${e.message}` });
    });
    child.once('close', (code, signal) => {
      clock.clearTimeout(timer);
      const tail = output.trim().split('\n').slice(-3).join(' | ');
      if (timedOut)
        resolve({
          ran: true,
          ok: false,
          exitCode: null,
          detail: `hard fence timed out after ${timeoutMs}ms`,
        });
      else
        resolve({
          ran: true,
          ok: code === 0,
          exitCode: code,
          detail: `hard fence exited ${code ?? signal}${tail ? `: ${tail}` : ''}`,
        });
    });
  });

export function hardFenceEnv(db: DatabaseConfig): Record<string, string> {
  return {
    SWITCHYARD_DB_ENGINE: db.engine,
    SWITCHYARD_DB_HOST: db.host,
    SWITCHYARD_DB_PORT: String(db.port ?? DEFAULT_PORT[db.engine]),
    SWITCHYARD_DB_DATABASE: db.database,
  };
}
