// Child of test/e2e/cli-lazy-load.test.ts: starts the real daemon on the demo world (file DNS,
// simulated databases) and stops it; the module trace shows what that loaded.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Daemon } from '../../src/daemon/daemon.js';
import { demoConfig } from '../../src/demo/demo-config.js';
import { DemoWorld } from '../../src/demo/world.js';

const world = new DemoWorld();
await world.start(0);
process.env.SWITCHYARD_DEMO_TOKEN = 'x';
process.env.SWITCHYARD_DEMO_DB_PASSWORD = 'unused';
const daemon = new Daemon({
  config: demoConfig(world, mkdtempSync(join(tmpdir(), 'sy-lazy-')), '127.0.0.1:0', '127.0.0.1:0'),
  logger: pino({ level: 'silent' }),
  databaseProbe: (t) => world.database(t.region, t.name).probe(),
  promoter: (region, key) => world.database(region, key).promoter(),
});
await daemon.start();
await new Promise((r) => setTimeout(r, 1_500)); // a few probe rounds and decisions
await daemon.stop();
await world.stop();
