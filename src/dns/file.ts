import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { RecordDef } from '../topology/types.js';
import { systemClock } from '../util/clock.js';
import { SwitchyardError } from '../util/errors.js';
import type { ApplyMeta, ApplyResult, DnsProvider, WeightedSet } from './types.js';

/**
 * The file provider: the embedded default for local runs and the demo. "DNS" is a JSON document
 * that other tools (and e2e tests) read to see where traffic goes:
 *
 *   {
 *     "version": 1,
 *     "updatedAt": "2026-01-01T00:00:00.000Z",
 *     "records": {
 *       "api.r1.example.com/A": {
 *         "r1": { "setIdentifier": "r1", "weight": 100, "values": ["203.0.113.10"], "ttl": 60 },
 *         "r2": { "setIdentifier": "r2", "weight": 0, "values": ["198.51.100.20"], "ttl": 60 }
 *       }
 *     }
 *   }
 *
 * Keys are RecordDef.key ("<name>/<type>") then region id; `ttl` is in seconds; a set has either
 * `values` or `alias` ({ dnsName, hostedZoneId, evaluateTargetHealth }). Records the config does
 * not name are kept as they are. Writes are atomic (temp file, fsync, rename, fsync of the
 * directory), so a reader never sees half a document.
 */

export interface DnsFileSet {
  setIdentifier: string;
  weight: number;
  values?: string[];
  alias?: { dnsName: string; hostedZoneId: string; evaluateTargetHealth: boolean };
  ttl: number;
}

export interface DnsFileDocument {
  version: 1;
  updatedAt: string;
  /** Who wrote the last change ("sy-r2 epoch 3"). */
  updatedBy?: string;
  records: Record<string, Record<string, DnsFileSet>>;
}

export class FileDnsProvider implements DnsProvider {
  readonly kind = 'file' as const;
  /** Serialises writes from this process: each apply reads, merges and replaces the document. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly now: () => number = () => systemClock.wall(),
  ) {}

  async read(records: readonly RecordDef[]): Promise<WeightedSet[]> {
    const doc = await readDnsFile(this.path);
    const out: WeightedSet[] = [];
    const refused: string[] = [];
    for (const record of records) {
      const entries = doc.records[record.key];
      if (!entries) continue;
      for (const [region, set] of Object.entries(entries)) {
        const target = record.targets[region];
        if (!target || target.setIdentifier !== set.setIdentifier) {
          refused.push(
            `${record.key}: live set "${set.setIdentifier}" (${region}) is not one the configuration names`,
          );
          continue;
        }
        out.push(toWeightedSet(record, region, set));
      }
    }
    if (refused.length > 0)
      throw new SwitchyardError(
        'DNS_OWNERSHIP',
        `refusing to manage ${refused.length} record set(s) in ${this.path} that the configuration does not name`,
        refused,
      );
    return out;
  }

  apply(sets: readonly WeightedSet[], meta?: ApplyMeta): Promise<ApplyResult> {
    if (sets.length === 0) return Promise.resolve({ writeCalls: 0 });
    const run = this.queue.then(() => this.write(sets, meta));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async write(sets: readonly WeightedSet[], meta?: ApplyMeta): Promise<ApplyResult> {
    const doc = await readDnsFile(this.path);
    for (const s of sets) {
      const rec = doc.records[s.recordKey] ?? {};
      rec[s.region] = {
        setIdentifier: s.setIdentifier,
        weight: s.weight,
        ...(s.values ? { values: [...s.values] } : {}),
        ...(s.alias ? { alias: { ...s.alias } } : {}),
        ttl: s.ttlSeconds,
      };
      doc.records[s.recordKey] = rec;
    }
    doc.updatedAt = new Date(this.now()).toISOString();
    if (meta?.origin) doc.updatedBy = meta.origin;
    else delete doc.updatedBy;
    await writeFileAtomic(this.path, `${JSON.stringify(doc, null, 2)}\n`);
    return { writeCalls: 1, propagationMs: 0 };
  }
}

/** Reads the document; a missing file is an empty one. A corrupt file is an error (never overwritten). */
export async function readDnsFile(path: string): Promise<DnsFileDocument> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return { version: 1, updatedAt: new Date(0).toISOString(), records: {} };
    throw new SwitchyardError(
      'DNS_UNAVAILABLE',
      `cannot read DNS file ${path}: ${(err as Error).message}`,
      [],
      {
        cause: err,
      },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new SwitchyardError('DNS_UNAVAILABLE', `DNS file ${path} is not valid JSON`, [], { cause: err });
  }
  if (!isDocument(parsed))
    throw new SwitchyardError(
      'DNS_UNAVAILABLE',
      `DNS file ${path} is not a version 1 switchyard DNS document`,
    );
  return parsed;
}

function isDocument(v: unknown): v is DnsFileDocument {
  if (typeof v !== 'object' || v === null) return false;
  const d = v as Partial<DnsFileDocument>;
  if (d.version !== 1 || typeof d.records !== 'object' || d.records === null) return false;
  return Object.values(d.records).every(
    (rec) =>
      typeof rec === 'object' &&
      rec !== null &&
      Object.values(rec).every(
        (s) =>
          typeof s === 'object' &&
          s !== null &&
          typeof s.setIdentifier === 'string' &&
          typeof s.weight === 'number' &&
          typeof s.ttl === 'number',
      ),
  );
}

function toWeightedSet(record: RecordDef, region: string, s: DnsFileSet): WeightedSet {
  return {
    recordKey: record.key,
    name: record.name,
    type: record.type,
    region,
    setIdentifier: s.setIdentifier,
    weight: s.weight,
    ttlSeconds: s.ttl,
    ...(s.values ? { values: [...s.values] } : {}),
    ...(s.alias ? { alias: { ...s.alias } } : {}),
  };
}

/** Temp file in the same directory, fsync, rename over the target, fsync the directory. */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(data, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  try {
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
  }
}
