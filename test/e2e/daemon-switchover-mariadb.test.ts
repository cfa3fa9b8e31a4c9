import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliAsync } from '../support/cli.js';
import { FailoverWorld, MANAGE } from '../support/failover-world.js';
import { type MyPair, myWaitReplicated, startMariaDbPair } from '../support/mariadb-cluster.js';

/** Planned switchover through the CLI and the daemon on a real MariaDB GTID pair. */
const N = 300;
let my: MyPair;
const world = new FailoverWorld();

beforeAll(async () => {
  my = await startMariaDbPair({ name: 'e2e-switchover' });
  await world.start({
    db: { r1: my.primary.config(), r2: my.replica.config() },
    promotion: { mode: 'manual', catchUpTimeout: '15s' },
  });
  await world.startDaemon();
  await world.waitAllUp(30_000);
  await my.primary.query('CREATE TABLE app.items (id int PRIMARY KEY)');
  await myWaitReplicated(my);
});

afterAll(async () => {
  await world.close();
  await my?.stop();
});

describe('switchyard switchover (MariaDB)', () => {
  it('moves every row and the main role to r2; the old primary refuses application writes', async () => {
    const values = Array.from({ length: N }, (_, i) => `(${i + 1})`).join(',');
    await my.primary.appQuery(`INSERT INTO items VALUES ${values}`);
    const r = await cliAsync(['switchover', '--to', 'r2', '--reason', 'e2e', '--yes'], { env: world.env });
    expect(r.code, `${r.stdout}\n${r.stderr}\n${world.logs()}`).toBe(0);
    expect(r.stdout).toMatch(/r2 is the main \(epoch 1\)/);
    expect(r.stdout).toMatch(/timings: fence \d+ms, catch-up \d+ms, promote \d+ms, total \d+ms/);
    const [c] = await my.replica.appQuery<{ n: number }>('SELECT COUNT(*) AS n FROM items');
    expect(Number(c?.n)).toBe(N);
    await my.replica.appQuery(`INSERT INTO items VALUES (${N + 1})`);
    await expect(my.primary.appQuery(`INSERT INTO items VALUES (${N + 2})`)).rejects.toThrow(/read-only/);
    expect(world.weights(MANAGE)).toEqual({ r1: 0, r2: 100 });
    expect(await world.status()).toMatchObject({ main: 'r2', epoch: 1, promotion: null });
  }, 60_000);
});
