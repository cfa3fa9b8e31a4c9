import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { exited, removeDir, run, sleep, startServer, stopProcess, tail } from './proc.js';

/**
 * A real etcd 3.4 cluster (Debian `etcd-server`, /usr/bin/etcd) on 127.0.0.1 for integration
 * tests and benchmarks: `size` members (3 by default) with their own data directories on tmpfs
 * (/dev/shm: no fsync stalls on a shared disk), client and peer ports from the coordination
 * range 23000–23999 (probed free; the whole cluster is retried on a bind collision).
 *
 * Timings are short so tests are quick — heartbeat 50 ms, election timeout 750 ms (etcd's
 * shortest lease TTL is then 1.5 × 750 ms ≈ 1.2 s, granted as 2 s) — but leave room for a loaded
 * 2-core machine. Members can be stopped, killed and restarted one at a time, to make the
 * cluster lose its quorum and regain it.
 */

export const ETCD_BIN = process.env.SWITCHYARD_ETCD_BIN ?? '/usr/bin/etcd';
export const ETCDCTL_BIN = process.env.SWITCHYARD_ETCDCTL_BIN ?? '/usr/bin/etcdctl';

const PORT_LOW = 23_000;
const PORT_HIGH = 23_999;
const handedOut = new Set<number>();

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A port of the coordination range that nothing listens on (and this process has not handed out). */
export async function coordPort(): Promise<number> {
  const span = PORT_HIGH - PORT_LOW + 1;
  const start = Math.floor(Math.random() * span);
  for (let i = 0; i < span; i++) {
    const port = PORT_LOW + ((start + i) % span);
    if (handedOut.has(port)) continue;
    if (await portFree(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free port in 23000-23999');
}

export interface EtcdTls {
  ca: string;
  cert: string;
  key: string;
  /** Client certificate and key for etcdctl when the cluster requires client certificates. */
  clientCert?: string;
  clientKey?: string;
  clientCertAuth?: boolean;
}

export interface EtcdClusterOptions {
  size?: number;
  heartbeatMs?: number;
  electionMs?: number;
  /** Client URLs over TLS (peers stay plain). */
  tls?: EtcdTls;
  /** How long start() and restarts wait for a healthy cluster. */
  startTimeoutMs?: number;
}

export interface EtcdMember {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  logFile: string;
  clientUrl: string;
  process: ChildProcess | undefined;
}

export class EtcdCluster {
  readonly members: EtcdMember[];
  readonly root: string;
  private readonly opts: Required<Omit<EtcdClusterOptions, 'tls'>> & { tls?: EtcdTls };
  private readonly token: string;

  private constructor(root: string, members: EtcdMember[], opts: EtcdCluster['opts']) {
    this.root = root;
    this.members = members;
    this.opts = opts;
    this.token = `sy-${Math.floor(Math.random() * 1e9)}`;
  }

  /** Starts a fresh cluster and waits until every member is healthy (retries on a port collision). */
  static async start(options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
    if (!existsSync(ETCD_BIN))
      throw new Error(`${ETCD_BIN} is missing: apt-get install -y etcd-server etcd-client`);
    const opts = {
      size: options.size ?? 3,
      heartbeatMs: options.heartbeatMs ?? 50,
      electionMs: options.electionMs ?? 750,
      startTimeoutMs: options.startTimeoutMs ?? 30_000,
      ...(options.tls ? { tls: options.tls } : {}),
    };
    for (let attempt = 0; ; attempt++) {
      const base = existsSync('/dev/shm') ? '/dev/shm' : (process.env.TMPDIR ?? '/tmp');
      const root = mkdtempSync(join(base, 'switchyard-etcd-'));
      const scheme = opts.tls ? 'https' : 'http';
      const members: EtcdMember[] = [];
      for (let i = 0; i < opts.size; i++) {
        const clientPort = await coordPort();
        const peerPort = await coordPort();
        members.push({
          name: `m${i}`,
          clientPort,
          peerPort,
          dataDir: join(root, `m${i}`),
          logFile: join(root, `m${i}.log`),
          clientUrl: `${scheme}://127.0.0.1:${clientPort}`,
          process: undefined,
        });
      }
      const cluster = new EtcdCluster(root, members, opts);
      try {
        for (let i = 0; i < members.length; i++) cluster.spawn(i);
        await cluster.waitHealthy(opts.startTimeoutMs);
        return cluster;
      } catch (e) {
        const bind = members.some((m) => /address already in use/.test(tail(m.logFile, 40)));
        await cluster.stop();
        if (bind && attempt < 3) continue;
        throw e;
      }
    }
  }

  /** Client URLs of every member. */
  endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  running(i: number): boolean {
    const p = this.members[i]?.process;
    return p !== undefined && !exited(p);
  }

  /** Stops member `i` (SIGTERM: a clean shutdown; SIGKILL: a crash). */
  async stopMember(i: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const m = this.member(i);
    if (m.process) await stopProcess(m.process, signal, 5_000);
    m.process = undefined;
  }

  killMember(i: number): Promise<void> {
    return this.stopMember(i, 'SIGKILL');
  }

  /** Starts member `i` again on its data directory; waits for it to answer when `wait`. */
  async startMember(i: number, wait = true): Promise<void> {
    if (this.running(i)) return;
    this.spawn(i);
    if (wait) await this.waitMemberHealthy(i, this.opts.startTimeoutMs);
  }

  /** Every running member answers /health with a leader. */
  async waitHealthy(timeoutMs = this.opts.startTimeoutMs): Promise<void> {
    await Promise.all(
      this.members.map((_, i) => (this.running(i) ? this.waitMemberHealthy(i, timeoutMs) : undefined)),
    );
  }

  async waitMemberHealthy(i: number, timeoutMs: number): Promise<void> {
    const m = this.member(i);
    const end = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < end) {
      if (!this.running(i))
        throw new Error(`etcd member ${m.name} exited (${m.process?.exitCode}):\n${tail(m.logFile)}`);
      try {
        if (await this.healthy(i)) return;
      } catch (e) {
        last = (e as Error).message;
      }
      await sleep(100);
    }
    throw new Error(
      `etcd member ${m.name} not healthy within ${timeoutMs} ms (${last}):\n${tail(m.logFile)}`,
    );
  }

  /** Runs etcdctl (API v3) against the running members; returns stdout. */
  etcdctl(args: string[], endpoints = this.endpoints()): Promise<string> {
    const tls = this.opts.tls;
    const flags = [`--endpoints=${endpoints.join(',')}`, '--command-timeout=5s', '--dial-timeout=2s'];
    if (tls) {
      flags.push(`--cacert=${tls.ca}`);
      if (tls.clientCert && tls.clientKey) flags.push(`--cert=${tls.clientCert}`, `--key=${tls.clientKey}`);
    }
    return runEtcdctl([...flags, ...args]);
  }

  /** Stops every member and removes the data directories. Safe to call twice. */
  async stop(): Promise<void> {
    await Promise.all(this.members.map((_, i) => this.stopMember(i, 'SIGKILL').catch(() => {})));
    await removeDir(this.root);
  }

  private member(i: number): EtcdMember {
    const m = this.members[i];
    if (!m) throw new Error(`no etcd member ${i}`);
    return m;
  }

  private async healthy(i: number): Promise<boolean> {
    const m = this.member(i);
    const tls = this.opts.tls;
    if (!tls) {
      const res = await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(1_000) });
      const body = (await res.json()) as { health?: string };
      return res.ok && body.health === 'true';
    }
    const dispatcher = new Agent({
      connect: {
        ca: await readText(tls.ca),
        ...(tls.clientCert && tls.clientKey
          ? { cert: await readText(tls.clientCert), key: await readText(tls.clientKey) }
          : {}),
      },
    });
    try {
      const res = await undiciFetch(`${m.clientUrl}/health`, {
        dispatcher,
        signal: AbortSignal.timeout(1_000),
      });
      const body = (await res.json()) as { health?: string };
      return res.ok && body.health === 'true';
    } finally {
      await dispatcher.close();
    }
  }

  private spawn(i: number): void {
    const m = this.member(i);
    const tls = this.opts.tls;
    const initialCluster = this.members.map((x) => `${x.name}=http://127.0.0.1:${x.peerPort}`).join(',');
    const args = [
      `--name=${m.name}`,
      `--data-dir=${m.dataDir}`,
      `--listen-client-urls=${m.clientUrl}`,
      `--advertise-client-urls=${m.clientUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${m.peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${m.peerPort}`,
      `--initial-cluster=${initialCluster}`,
      '--initial-cluster-state=new',
      `--initial-cluster-token=${this.token}`,
      `--heartbeat-interval=${this.opts.heartbeatMs}`,
      `--election-timeout=${this.opts.electionMs}`,
      '--logger=zap',
      '--log-level=warn',
      '--log-outputs=stderr',
    ];
    if (tls) {
      args.push(`--cert-file=${tls.cert}`, `--key-file=${tls.key}`, `--trusted-ca-file=${tls.ca}`);
      if (tls.clientCertAuth) args.push('--client-cert-auth');
    }
    m.process = startServer(ETCD_BIN, args, m.logFile);
  }
}

/** etcdctl with API v3; rejects with its output on failure. */
export function runEtcdctl(args: string[]): Promise<string> {
  return run(ETCDCTL_BIN, args, { timeoutMs: 15_000 });
}

function readText(path: string): Promise<string> {
  return readFile(path, 'utf8');
}
