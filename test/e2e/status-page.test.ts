import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactPath, type Browser, launchChromium } from '../support/browser.js';
import { type DemoDaemon, startDemoDaemon } from '../support/demo-daemon-live.js';
import { type EtcdDemoDaemons, startEtcdDemoDaemons } from '../support/etcd-demo-daemons.js';
import { waitFor } from '../support/proc.js';

/**
 * The status page (`GET /`) in real headless Chromium against the real daemon and the demo
 * world, in process: it renders, it follows a failure without a reload, it says so when the
 * daemon goes away, and it renders the fields other parts of switchyard are adding (leader,
 * observers, current roles, override reasons) without ever turning data into markup.
 */
let demo: DemoDaemon;
let browser: Browser;
let stopped = false;

beforeAll(async () => {
  demo = await startDemoDaemon();
  browser = await launchChromium();
  await waitFor(
    'daemon ready',
    async () => (await fetch(`${demo.origin}/readyz`)).status === 200,
    30_000,
    200,
  );
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (!stopped) await demo?.stop();
});

async function open(page: Page): Promise<string[]> {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(demo.origin)) problems.push(`request off-origin: ${r.url()}`);
  });
  const res = await page.goto(`${demo.origin}/`);
  expect(res?.status()).toBe(200);
  expect(res?.headers()['content-type']).toBe('text/html; charset=utf-8');
  expect(res?.headers()['content-security-policy']).toContain("default-src 'none'");
  return problems;
}

const attr = (page: Page, selector: string, name: string) =>
  page.locator(selector).first().getAttribute(name, { timeout: 1_000 });

describe('status page in Chromium', () => {
  it('renders the main region, the records and the regions, then follows r3 going down without a reload', async () => {
    const page = await browser.context.newPage();
    try {
      const problems = await open(page);
      await page.waitForSelector('#conn[data-state="live"]', { timeout: 10_000 });
      expect(await page.textContent('#main')).toBe('r1');
      expect(await page.textContent('#epoch')).toBe('0');
      expect(await page.locator('#regions tbody tr').count()).toBe(4);
      expect(await page.locator('#records tbody tr').count()).toBe(9);
      const names = await page.locator('#records tbody tr strong').allTextContents();
      expect(names).toContain('api.r3.example.com');
      expect(names).toContain('manage.example.com');
      expect(await page.locator('#databases tbody tr').count()).toBe(4);
      await page.waitForSelector('tr[data-region="r3"] td[data-component="gateway"][data-status="up"]', {
        timeout: 15_000,
      });
      // The first decision with evidence for every region writes the weights.
      await page.waitForSelector(
        'tr[data-record="api.r3.example.com/A"] td[data-weight="r3"][data-desired="100"]',
        { timeout: 15_000 },
      );
      expect(await page.textContent('#dns')).toContain('file');

      // Mark the page, so a reload (which would pass the rest too) is detected.
      await page.evaluate(() => {
        (globalThis as unknown as { __sameDocument: boolean }).__sameDocument = true;
      });
      const down = await fetch(`${demo.worldOrigin}/control/r3/down`, { method: 'POST' });
      expect(down.status).toBe(200);

      await page.waitForSelector('tr[data-region="r3"] td[data-component="gateway"][data-status="down"]', {
        timeout: 15_000,
      });
      // failAfter 2s in the demo: api.r3 leaves r3 for r1 (its first preference).
      await page.waitForSelector(
        'tr[data-record="api.r3.example.com/A"] td[data-weight="r3"][data-desired="0"]',
        { timeout: 20_000 },
      );
      expect(
        await attr(page, 'tr[data-record="api.r3.example.com/A"] td[data-weight="r1"]', 'data-desired'),
      ).toBe('100');
      await waitFor(
        'the decision in the list',
        async () => (await page.textContent('#decisions'))?.includes('api.r3.example.com'),
        10_000,
      );
      // Live DNS catches up with the decision (the file provider applies at once).
      await page.waitForSelector('tr[data-record="api.r3.example.com/A"][data-change="in-sync"]', {
        timeout: 15_000,
      });
      expect(
        await attr(page, 'tr[data-record="api.r3.example.com/A"] td[data-weight="r3"]', 'data-live'),
      ).toBe('0');
      // "Serving" is what DNS serves (the live weights), so it follows the apply, not the decision.
      await page.waitForSelector('tr[data-region="r3"] [data-serving="api:no"]', { timeout: 5_000 });
      expect(await page.textContent('tr[data-region="r3"] [data-serving^="api:"]')).toContain('api');
      expect(
        await page.evaluate(() => (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument),
      ).toBe(true);
      await page.screenshot({ path: artifactPath('status-page.png'), fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  }, 90_000);

  it('renders leader, observers, current roles and override reasons, escaping every value', async () => {
    const page = await browser.context.newPage();
    try {
      const real = await demo.status();
      const xss = '<img src=x onerror="window.__pwned=1">';
      const doc = {
        ...real,
        generatedAt: new Date().toISOString(),
        director: { ...real.director, id: 'sy-r1', region: 'r1' },
        leader: { id: 'sy-r2', region: 'r2', leaseTimeLeftMs: 7_250 },
        observers: [
          { id: 'sy-r1', region: 'r1', fresh: true, discounted: false },
          {
            id: 'sy-r3',
            region: 'r3',
            fresh: true,
            discounted: true,
            reason: `sees 3 of 4 regions down ${xss}`,
          },
        ],
        overrides: {
          ...real.overrides,
          drained: ['r4'],
          frozen: true,
          reasons: { drained: { r4: 'kernel patching (alice)' }, frozen: 'incident 4711' },
        },
        alerts: [{ kind: 'split-brain', subject: 'r1', message: `r1 writable outside the main ${xss}` }],
        regions: real.regions.map((r) =>
          r.id === 'r1'
            ? {
                ...r,
                configuredRole: 'main',
                currentRole: 'fenced old main awaiting rebuild',
                components: r.components.map((c) =>
                  c.name === 'gateway'
                    ? { ...c, detail: xss, observers: { 'sy-r1': 'up', 'sy-r2': 'down', 'sy-r3': 'unknown' } }
                    : c,
                ),
              }
            : r,
        ),
        records: real.records.map((r, i) => (i === 0 ? { ...r, reason: xss } : r)),
      };
      // 'doc': a fresh document each poll; 'same': the same one again (a caching proxy); 'fail': 503.
      let answer: 'doc' | 'same' | 'fail' = 'doc';
      await page.route('**/v1/status', (route) => {
        if (answer === 'fail')
          return route.fulfill({ status: 503, contentType: 'application/json', body: '{}' });
        if (answer === 'doc') doc.generatedAt = new Date().toISOString();
        return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(doc) });
      });
      const problems = await open(page);
      await page.waitForSelector('#conn[data-state="live"]', { timeout: 10_000 });

      expect(await page.textContent('#director')).toBe('sy-r1 in r1');
      const leader = await page.textContent('#leader');
      expect(leader).toContain('sy-r2 (r2)');
      expect(leader).toContain('lease 7.3s');
      expect(await page.isVisible('#observers-section')).toBe(true);
      expect(await page.textContent('#observers tr[data-observer="sy-r3"]')).toContain('discounted');
      expect(await page.textContent('#observers tr[data-observer="sy-r3"]')).toContain(xss);
      expect(await page.textContent('#observers tr[data-observer="sy-r1"]')).toContain('counted');
      const votes = page.locator('tr[data-region="r1"] td[data-component="gateway"] [data-observer]');
      expect(await votes.count()).toBe(3);
      expect(await attr(page, 'tr[data-region="r1"] [data-observer="sy-r2"]', 'class')).toBe('down');
      expect(await page.textContent('tr[data-region="r1"] [data-current-role]')).toContain(
        'fenced old main awaiting rebuild',
      );
      expect(await page.textContent('#overrides tr[data-override="drained"]')).toContain(
        'kernel patching (alice)',
      );
      expect(await page.textContent('#overrides tr[data-override="frozen"]')).toContain('incident 4711');
      expect(await page.textContent('#alerts')).toContain(xss);
      expect(await attr(page, 'tr[data-region="r1"] td[data-component="gateway"]', 'title')).toBe(xss);

      // Nothing from the document became markup, and nothing ran.
      expect(await page.locator('main img').count()).toBe(0);
      expect(
        await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned),
      ).toBeUndefined();

      // The daemon stops answering: the page says so instead of showing old data as current.
      answer = 'fail';
      await page.waitForSelector('#conn[data-state="unreachable"]', { timeout: 10_000 });
      expect(await page.textContent('#conn')).toContain('HTTP 503');
      expect(await page.getAttribute('body', 'data-stale')).toBe('true');
      answer = 'doc';
      await page.waitForSelector('#conn[data-state="live"]', { timeout: 10_000 });
      expect(await page.getAttribute('body', 'data-stale')).toBe('false');
      // It answers, but with a document that no longer changes: stale, not live.
      answer = 'same';
      await page.waitForSelector('#conn[data-state="stale"]', { timeout: 15_000 });
      expect(await page.textContent('#conn')).toContain('has not changed');
      expect(await page.getAttribute('body', 'data-stale')).toBe('true');
      expect(problems.filter((p) => !p.includes('503'))).toEqual([]);
    } finally {
      await page.close();
    }
  }, 60_000);

  it('shows "unreachable" when the daemon is gone', async () => {
    const page = await browser.context.newPage();
    try {
      await open(page);
      await page.waitForSelector('#conn[data-state="live"]', { timeout: 10_000 });
      stopped = true;
      await demo.stop();
      await page.waitForSelector('#conn[data-state="unreachable"]', { timeout: 15_000 });
      expect(await page.textContent('#main')).toBe('r1'); // the last data stays, marked stale
      expect(await page.getAttribute('body', 'data-stale')).toBe('true');
    } finally {
      await page.close();
    }
  }, 60_000);
});

/**
 * The page of real daemons on a real three-member etcd cluster (one instance per region r2, r3,
 * r4, all probing the demo world): the leader and its lease, every observer counted, each
 * observer's vote beside the quorum — on a follower's page as on the leader's — following a
 * failure and a change of leader without a reload. Its screenshot is docs/status-page.png.
 */
describe('status page on three instances on etcd', () => {
  let cluster: EtcdDemoDaemons;
  beforeAll(async () => {
    cluster = await startEtcdDemoDaemons({ name: 'page' });
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('shows the leader and its lease, every observer and its vote; follows r3 down and a new leader', async () => {
    const leader = await cluster.settled(60_000);
    const follower = cluster.instances.find((i) => i !== leader);
    if (!follower) throw new Error('no follower');
    const page = await browser.context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    try {
      const res = await page.goto(`${follower.origin}/`);
      expect(res?.status()).toBe(200);
      await page.waitForSelector('#conn[data-state="live"]', { timeout: 10_000 });
      expect(await page.textContent('#director')).toBe(`${follower.id} in ${follower.region}`);
      // A follower knows who leads and since when; the lease's time left is the leader's own clock.
      await waitFor(
        'the leader on the page',
        async () => ((await page.textContent('#leader')) ?? '').includes(`${leader.id} (${leader.region})`),
        10_000,
      );
      expect(await page.textContent('#leader')).toMatch(/, leading for \d+s$/);
      expect(await page.locator('#leader [data-lease]').count()).toBe(0);
      expect(await page.isVisible('#observers-section')).toBe(true);
      for (const i of cluster.instances) {
        const row = await page.textContent(`#observers tr[data-observer="${i.id}"]`);
        expect(row).toContain(i.region);
        expect(row).toContain('fresh');
        expect(row).toContain('counted');
      }
      const votes = (region: string) =>
        page.locator(`tr[data-region="${region}"] td[data-component="gateway"] [data-observer]`);
      await waitFor('three votes per component', async () => (await votes('r3').count()) === 3, 10_000);
      expect(await votes('r1').count()).toBe(3);

      // r3's gateway fails: every observer votes down, the quorum says down, traffic moves.
      cluster.world.setRegion('r3', false);
      await page.waitForSelector('tr[data-region="r3"] td[data-component="gateway"][data-status="down"]', {
        timeout: 20_000,
      });
      for (const i of cluster.instances)
        await page.waitForSelector(
          `tr[data-region="r3"] td[data-component="gateway"] [data-observer="${i.id}"].down`,
          { timeout: 10_000 },
        );
      await page.waitForSelector(
        'tr[data-record="api.r3.example.com/A"] td[data-weight="r3"][data-desired="0"]',
        { timeout: 20_000 },
      );

      // The leader's own page says it leads, with the same lease.
      const own = await browser.context.newPage();
      try {
        await own.goto(`${leader.origin}/`);
        await own.waitForSelector('#conn[data-state="live"]', { timeout: 10_000 });
        const shown = await own.textContent('#leader');
        expect(shown).toContain(`${leader.id} (${leader.region}) (this instance)`);
        const lease = Number(/lease (\d+\.\d)s/.exec(shown ?? '')?.[1]);
        expect(lease).toBeGreaterThan(0);
        expect(lease).toBeLessThanOrEqual(3); // leaseTtl 3s
        // The leader reads and writes DNS: live weights catch up with the decision.
        await own.waitForSelector('tr[data-record="api.r3.example.com/A"][data-change="in-sync"]', {
          timeout: 15_000,
        });
        // docs/status-page.png is this screenshot (copied from test-artifacts/).
        await own.screenshot({ path: artifactPath('status-page-etcd.png'), fullPage: true });
      } finally {
        await own.close();
      }

      // The leader stops: another instance takes over, and the follower's page shows it.
      await page.evaluate(() => {
        (globalThis as unknown as { __sameDocument: boolean }).__sameDocument = true;
      });
      await leader.daemon.stop('test: leader stops');
      await waitFor(
        'a new leader on the page',
        async () => {
          const t = (await page.textContent('#leader')) ?? '';
          return !t.includes(leader.id) && /sy-r\d \(r\d\)/.test(t);
        },
        30_000,
      );
      expect(
        await page.evaluate(() => (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument),
      ).toBe(true);
      expect(problems).toEqual([]);
    } finally {
      cluster.world.setRegion('r3', true);
      await page.close();
    }
  }, 150_000);
});
