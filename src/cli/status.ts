import type { Command } from 'commander';
import { addConnectionOptions, clientFromCommand, reportError } from './admin-client.js';
import { colourEnabled, painter } from './output.js';
import { statusText } from './status-format.js';

/** `switchyard status [--json]`: what the daemon sees and has done. Needs no token. */
export function register(program: Command): void {
  addConnectionOptions(
    program
      .command('status')
      .description('show regions, components, weights, main, epoch, overrides, alerts and the last decisions')
      .option('--json', 'print the status document as JSON'),
  ).action(async (opts: { json?: boolean }, cmd: Command) => {
    try {
      const doc = await clientFromCommand(cmd).status();
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(doc, null, 2)}\n`
          : statusText(doc, painter(colourEnabled(process.stdout))),
      );
    } catch (e) {
      reportError(e);
    }
  });
}
