import type { Command } from 'commander';
import { addConnectionOptions, clientFromCommand, reportError } from './admin-client.js';
import type { CliContext } from './io.js';
import { colourEnabled, painter } from './output.js';
import { statusText } from './status-format.js';

/** `switchyard status [--json]`: what the daemon sees and has done. Reads the read-only listener; needs no token. */
export function register(program: Command, ctx: CliContext): void {
  addConnectionOptions(
    program
      .command('status')
      .description('show regions, components, weights, main, epoch, overrides, alerts and the last decisions')
      .option('--json', 'print the status document as JSON'),
  ).action(async (opts: { json?: boolean }, cmd: Command) => {
    try {
      const doc = await clientFromCommand(cmd, ctx.io.env).status();
      ctx.out(
        opts.json
          ? `${JSON.stringify(doc, null, 2)}\n`
          : statusText(doc, painter(colourEnabled(ctx.io.stdout, ctx.io.env))),
      );
    } catch (e) {
      reportError(ctx, e);
    }
  });
}
