import { createInterface } from 'node:readline/promises';
import { EXIT } from './exit-codes.js';

/**
 * The gate before a failover or switchover is applied: `--yes`, or the operator typing the
 * region id on a terminal. With neither (a script without --yes) it refuses: exit 1.
 */
export async function confirmed(
  action: 'failover' | 'switchover',
  region: string,
  yes: boolean | undefined,
): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY) {
    process.stderr.write(
      `switchyard: ${action} not applied: confirmation needed and stdin is not a terminal; re-run with --yes to apply\n`,
    );
    process.exitCode = EXIT.INVALID;
    return false;
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`type the region id (${region}) to confirm the ${action}: `);
    if (answer.trim() === region) return true;
  } finally {
    rl.close();
  }
  process.stderr.write(`switchyard: ${action} not applied: confirmation did not match\n`);
  process.exitCode = EXIT.INVALID;
  return false;
}
