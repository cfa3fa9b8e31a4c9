import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SwitchyardError } from '../util/errors.js';
import { SimulatedDatabase } from './simulated-database.js';

export const DEMO_REGIONS = ['r1', 'r2', 'r3', 'r4'] as const;
export type DemoRegion = (typeof DEMO_REGIONS)[number];
const CORE: readonly DemoRegion[] = ['r1', 'r2'];
export const DEMO_DATABASES = ['apim', 'shared'] as const;

/**
 * The demo's pretend world: four regions whose gateways and key managers answer on one local
 * HTTP server, and in-memory databases (r1 primaries, r2 replicas). An operator breaks and mends
 * regions through `/control/<region>/down|up|lag?seconds=N`.
 */
export class DemoWorld {
  private server: Server | undefined;
  readonly up = new Map<DemoRegion, boolean>(DEMO_REGIONS.map((r) => [r, true]));
  readonly databases = new Map<string, SimulatedDatabase>();
  port = 0;

  constructor() {
    for (const r of CORE)
      for (const key of DEMO_DATABASES)
        this.databases.set(`${r}.${key}`, new SimulatedDatabase(`${r}/${key} (simulated)`, r === 'r1'));
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
        for (const key of DEMO_DATABASES) {
          const db = this.databases.get(`${r}.${key}`);
          if (db) {
            db.lagSeconds = seconds;
            db.lagBytes = Math.round(seconds * 1_048_576);
          }
        }
      } else return send(404, { error: 'use /control/<region>/down, /up or /lag?seconds=N' });
      return send(200, this.snapshot());
    }
    if (DEMO_REGIONS.includes(first as DemoRegion) && (region === 'gateway' || region === 'keyManager')) {
      const up = this.up.get(first as DemoRegion) ?? false;
      return send(up ? 200 : 503, { region: first, component: region, status: up ? 'ok' : 'down' });
    }
    return send(404, { error: 'not found' });
  }
}
