import { EXIT } from './exit-codes.js';
import type { CliContext } from './io.js';

/**
 * The gate before a failover or switchover is applied: `--yes`, or the operator typing the
 * region id on a terminal. With neither (a script without --yes) it refuses: exit 1.
 */
export async function confirmed(
  ctx: CliContext,
  action: 'failover' | 'switchover',
  region: string,
  yes: boolean | undefined,
): Promise<boolean> {
  if (yes) return true;
  if (!ctx.io.stdin.isTTY) {
    ctx.err(
      `switchyard: ${action} not applied: confirmation needed and stdin is not a terminal; re-run with --yes to apply\n`,
    );
    ctx.fail(EXIT.INVALID);
    return false;
  }
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: ctx.io.stdin, output: ctx.io.stderr as NodeJS.WritableStream });
  try {
    const answer = await rl.question(`type the region id (${region}) to confirm the ${action}: `);
    if (answer.trim() === region) return true;
  } finally {
    rl.close();
  }
  ctx.err(`switchyard: ${action} not applied: confirmation did not match\n`);
  ctx.fail(EXIT.INVALID);
  return false;
}
