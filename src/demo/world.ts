import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../util/clock.js';
import { SwitchyardError } from '../util/errors.js';
import { SimulatedDatabase } from './simulated-database.js';

export const DEMO_REGIONS = ['r1', 'r2', 'r3', 'r4'] as const;
export type DemoRegion = (typeof DEMO_REGIONS)[number];
const CORE: readonly DemoRegion[] = ['r1', 'r2'];
export const DEMO_DATABASES = ['apim', 'shared'] as const;

/**
 * The demo's pretend world: four regions whose gateways and key managers answer on one local
 * HTTP server, and in-memory databases (r1 primaries, r2 replicas streaming from them). An
 * operator breaks and mends regions through `/control/<region>/down|up|lag?seconds=N`, and
 * after a failover or switchover rebuilds the fenced old main as a replica of the current main
 * with `/control/<region>/rebuild` (what pg_rewind or a fresh base backup does), so it can be
 * failed back to with a planned switchover.
 */
export class DemoWorld {
  private server: Server | undefined;
  readonly up = new Map<DemoRegion, boolean>(DEMO_REGIONS.map((r) => [r, true]));
  readonly databases = new Map<string, SimulatedDatabase>();
  port = 0;

  constructor(clock?: Clock) {
    for (const r of CORE)
      for (const key of DEMO_DATABASES)
        this.databases.set(
          `${r}.${key}`,
          new SimulatedDatabase(`${r}/${key} (simulated)`, r === 'r1', clock),
        );
    for (const key of DEMO_DATABASES) this.database('r2', key).upstream = this.database('r1', key);
  }

  /**
   * Rebuilds every database of `region` that is not the writable primary as a replica of the
   * writable primary of the same key elsewhere. Refused when the region holds a writable
   * primary (it is the main) or no writable primary exists to stream from.
   */
  rebuild(region: DemoRegion): { ok: true } | { ok: false; error: string } {
    const plans: Array<[SimulatedDatabase, SimulatedDatabase]> = [];
    for (const key of DEMO_DATABASES) {
      const db = this.databases.get(`${region}.${key}`);
      if (!db) return { ok: false, error: `${region} has no databases to rebuild` };
      if (!db.reachable)
        return { ok: false, error: `${region} is down: bring it up first (/control/${region}/up)` };
      if (db.role === 'primary' && db.writable)
        return {
          ok: false,
          error: `${region}/${key} is a writable primary: it is the main, nothing to rebuild`,
        };
      const primary = [...this.databases.entries()].find(
        ([k, d]) => k.endsWith(`.${key}`) && d !== db && d.role === 'primary' && d.writable && d.reachable,
      )?.[1];
      if (!primary) return { ok: false, error: `no writable primary of ${key} to rebuild ${region} from` };
      plans.push([db, primary]);
    }
    for (const [db, primary] of plans) db.rebuildAsReplicaOf(primary);
    return { ok: true };
  }

  database(region: string, key: string): SimulatedDatabase {
    const db = this.databases.get(`${region}.${key}`);
    if (!db) throw new SwitchyardError('INTERNAL', `the demo has no database ${region}.${key}`);
    return db;
  }

  url(region: DemoRegion, component: 'gateway' | 'keyManager'): string {
    return `http://127.0.0.1:${this.port}/${region}/${component}`;
  }

  setRegion(region: DemoRegion, up: boolean): void {
    this.up.set(region, up);
    for (const key of DEMO_DATABASES) {
      const db = this.databases.get(`${region}.${key}`);
      if (db) db.reachable = up;
    }
  }

  snapshot(): Record<string, unknown> {
    return {
      regions: Object.fromEntries(this.up),
      databases: Object.fromEntries([...this.databases].map(([k, d]) => [k, d.status()])),
    };
  }

  async start(port = 0): Promise<number> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): undefined {
    const url = new URL(req.url ?? '/', 'http://demo');
    const [first, region, what] = url.pathname.split('/').filter(Boolean);
    const send = (status: number, body: unknown): undefined => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify(body, null, 2)}\n`);
    };
    if (first === 'control') {
      if (!region) return send(200, this.snapshot());
      if (!DEMO_REGIONS.includes(region as DemoRegion))
        return send(404, { error: `unknown region ${region}` });
      if (req.method !== 'POST') return send(405, { error: 'use POST' });
      const r = region as DemoRegion;
      if (what === 'down') this.setRegion(r, false);
      else if (what === 'up') this.setRegion(r, true);
      else if (what === 'lag') {
        const seconds = Number(url.searchParams.get('seconds') ?? '0');
        if (!Number.isFinite(seconds) || seconds < 0)
          return send(400, { error: 'seconds must be a number ≥ 0' });
        // The lag in bytes follows: what the primary writes in that many seconds.
        for (const key of DEMO_DATABASES) {
          const db = this.databases.get(`${r}.${key}`);
          if (db) db.lagSeconds = seconds;
        }
      } else if (what === 'rebuild') {
        const done = this.rebuild(r);
        if (!done.ok) return send(409, { error: done.error });
      } else return send(404, { error: 'use /control/<region>/down, /up, /lag?seconds=N or /rebuild' });
      return send(200, this.snapshot());
    }
    if (DEMO_REGIONS.includes(first as DemoRegion) && (region === 'gateway' || region === 'keyManager')) {
      const up = this.up.get(first as DemoRegion) ?? false;
      return send(up ? 200 : 503, { region: first, component: region, status: up ? 'ok' : 'down' });
    }
    return send(404, { error: 'not found' });
  }
}
