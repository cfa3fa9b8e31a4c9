import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import {
  createDnsMetrics,
  createDnsProvider,
  createMissingFor,
  DnsReconciler,
  readDnsFile,
} from '../../src/dns/index.js';
import { systemClock } from '../../src/util/clock.js';
import { Route53Emulator } from '../support/route53-emulator.js';
import { asEmulatorSets, desiredAll, liveSets, seedLayout } from '../support/route53-fixtures.js';

const emulators: Route53Emulator[] = [];
afterEach(async () => {
  for (const e of emulators.splice(0)) await e.stop();
});

function dnsConfig(dns: unknown) {
  return configSchema.parse({ regions: { r1: { role: 'main' } }, dns }).dns;
}

describe('createDnsProvider', () => {
  it('builds the Route 53 provider from the dns config section (endpoint → emulator)', async () => {
    const emu = new Route53Emulator({ insyncDelayMs: 10 });
    emulators.push(emu);
    const endpoint = await emu.start();
    const records = seedLayout();
    emu.seed(asEmulatorSets(liveSets(records)));
    const dns = dnsConfig({
      provider: 'route53',
      route53: {
        hostedZoneId: emu.zoneId,
        endpoint,
        pollInterval: '100ms',
        syncTimeout: '10s',
        maxRequestsPerSecond: 50,
      },
    });
    const metrics = createDnsMetrics(new Registry());
    const logger = pino({ level: 'silent' });
    const provider = createDnsProvider(dns, {
      clock: systemClock,
      logger,
      metrics,
      route53: { credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' } },
    });
    expect(provider.kind).toBe('route53');
    const r = new DnsReconciler({
      provider,
      records,
      logger,
      metrics,
      clock: systemClock,
      options: { dryRun: dns.dryRun, createMissing: createMissingFor(dns) },
    });
    await r.start();
    const outcome = await r.submit(desiredAll(records, true));
    expect(outcome.writeCalls).toBe(1);
    expect((await outcome.insync)?.status).toBe('INSYNC');
    await r.close();
  });

  it('builds the file provider, which creates the sets on first run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-dns-'));
    try {
      const path = join(dir, 'dns.json');
      const dns = dnsConfig({ provider: 'file', file: { path } });
      const metrics = createDnsMetrics(new Registry());
      const logger = pino({ level: 'silent' });
      const records = seedLayout();
      const r = new DnsReconciler({
        provider: createDnsProvider(dns, { clock: systemClock, logger, metrics }),
        records,
        logger,
        metrics,
        clock: systemClock,
        options: { dryRun: false, createMissing: createMissingFor(dns) },
      });
      await r.start();
      await r.submit(desiredAll(records));
      const doc = await readDnsFile(path);
      expect(doc.records['manage.example.com/A']).toMatchObject({ r1: { weight: 100 }, r2: { weight: 0 } });
      await r.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
