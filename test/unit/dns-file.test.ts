import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileDnsProvider, readDnsFile } from '../../src/dns/file.js';
import { MemoryDnsProvider } from '../../src/dns/memory.js';
import { isSwitchyardError } from '../../src/util/errors.js';
import { liveSets, record } from '../support/route53-fixtures.js';

const api = record('api.example.com', ['r1', 'r2']);
const alias = {
  ...record('www.example.com', ['r1']),
  targets: {
    r1: {
      weight: 1,
      setIdentifier: 'eu',
      alias: { dnsName: 'lb.example.net', hostedZoneId: 'Z1', evaluateTargetHealth: true },
    },
  },
};

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-dns-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('FileDnsProvider', () => {
  it('reads a missing file as empty and writes the documented format atomically', async () => {
    const path = join(dir, 'nested', 'dns.json');
    const p = new FileDnsProvider(path, () => Date.UTC(2026, 0, 2));
    expect(await p.read([api])).toEqual([]);
    const sets = liveSets([api]);
    const aliasSet = {
      recordKey: alias.key,
      name: alias.name,
      type: 'A' as const,
      region: 'r1',
      setIdentifier: 'eu',
      weight: 1,
      ttlSeconds: 60,
      alias: { dnsName: 'lb.example.net', hostedZoneId: 'Z1', evaluateTargetHealth: true },
    };
    const result = await p.apply([...sets, aliasSet]);
    expect(result.writeCalls).toBe(1);
    const doc = JSON.parse(await readFile(path, 'utf8'));
    expect(doc).toEqual({
      version: 1,
      updatedAt: '2026-01-02T00:00:00.000Z',
      records: {
        'api.example.com/A': {
          r1: { setIdentifier: 'r1', weight: 100, values: ['192.0.2.1'], ttl: 60 },
          r2: { setIdentifier: 'r2', weight: 0, values: ['192.0.2.2'], ttl: 60 },
        },
        'www.example.com/A': {
          r1: { setIdentifier: 'eu', weight: 1, alias: aliasSet.alias, ttl: 60 },
        },
      },
    });
    expect(await p.read([api, alias])).toEqual([...sets, aliasSet]);
    expect((await readdir(join(dir, 'nested'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('updates only the given sets and keeps records it does not manage', async () => {
    const path = join(dir, 'dns.json');
    await writeFile(
      path,
      JSON.stringify({
        version: 1,
        updatedAt: 'x',
        records: {
          'other.example.com/A': { r9: { setIdentifier: 'r9', weight: 5, values: ['1.2.3.4'], ttl: 5 } },
        },
      }),
    );
    const p = new FileDnsProvider(path);
    await p.apply(liveSets([api]));
    const [r1] = liveSets([api]);
    await p.apply([{ ...r1!, weight: 7 }]);
    const doc = await readDnsFile(path);
    expect(doc.records['other.example.com/A']?.r9?.weight).toBe(5);
    expect(doc.records['api.example.com/A']?.r1?.weight).toBe(7);
    expect(doc.records['api.example.com/A']?.r2?.weight).toBe(0);
  });

  it('serialises concurrent applies: no write is lost', async () => {
    const path = join(dir, 'dns.json');
    const p = new FileDnsProvider(path);
    const sets = liveSets([record('a.example.com', ['r1', 'r2', 'r3', 'r4'])]);
    await Promise.all(sets.map((s) => p.apply([{ ...s, weight: 9 }])));
    const doc = await readDnsFile(path);
    expect(Object.values(doc.records['a.example.com/A'] ?? {}).map((s) => s.weight)).toEqual([9, 9, 9, 9]);
  });

  it('refuses a set whose identifier the configuration does not name', async () => {
    const path = join(dir, 'dns.json');
    await writeFile(
      path,
      JSON.stringify({
        version: 1,
        updatedAt: 'x',
        records: {
          'api.example.com/A': {
            r1: { setIdentifier: 'someone-else', weight: 5, values: ['1.2.3.4'], ttl: 5 },
          },
        },
      }),
    );
    const err = await new FileDnsProvider(path).read([api]).catch((e) => e);
    expect(isSwitchyardError(err, 'DNS_OWNERSHIP')).toBe(true);
  });

  it('never overwrites a corrupt file', async () => {
    const path = join(dir, 'dns.json');
    await writeFile(path, '{ not json');
    const p = new FileDnsProvider(path);
    await expect(p.read([api])).rejects.toMatchObject({ code: 'DNS_UNAVAILABLE' });
    await expect(p.apply(liveSets([api]))).rejects.toMatchObject({ code: 'DNS_UNAVAILABLE' });
    expect(await readFile(path, 'utf8')).toBe('{ not json');
  });
});

describe('MemoryDnsProvider', () => {
  it('reads only managed records, records batches and injects failures', async () => {
    const other = record('other.example.com', ['r1']);
    const p = new MemoryDnsProvider(liveSets([api, other]));
    expect((await p.read([api])).map((s) => s.recordKey)).toEqual([api.key, api.key]);
    p.failNext(new Error('down'));
    await expect(p.apply(liveSets([api]))).rejects.toThrow('down');
    expect(await p.apply([])).toEqual({ writeCalls: 0 });
    await p.apply([{ ...liveSets([api])[1]!, weight: 3 }]);
    expect(p.batches).toHaveLength(1);
    expect(p.snapshot().find((s) => s.setIdentifier === 'r2' && s.recordKey === api.key)?.weight).toBe(3);
  });
});
