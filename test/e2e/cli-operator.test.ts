import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { ALICE_TOKEN, type DemoDaemon, startDemoAllUp, until } from '../support/demo-daemon.js';
import { runCliInProcess as cli } from '../support/run-cli.js';
import { startSilentServer } from '../support/silent-server.js';

/**
 * The operator commands through the real CLI (in process) against the real daemon (in process,
 * on the demo's simulated world): the documented exit-code table row by row, overrides with
 * who and why, and a status that says what DNS actually serves.
 */
let d: DemoDaemon;
beforeAll(async () => {
  d = await startDemoAllUp();
}, 30_000);
afterAll(async () => {
  await d?.stop();
});

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('the exit-code table (README), one row at a time', () => {
  it('0 — done, or already so: drain twice, help, --version', async () => {
    const a = await cli(['drain', 'r3', '--reason', 'exit-code row 0'], { env: d.env() });
    expect(a).toMatchObject({ code: EXIT.OK, stderr: '' });
    expect(a.stdout).toBe('drained r3: its api and auth traffic leave it\n');
    const b = await cli(['drain', 'r3'], { env: d.env() });
    expect(b).toMatchObject({ code: EXIT.OK, stdout: 'r3 was already drained\n' });
    expect((await cli(['undrain', 'r3', '--reason', 'done'], { env: d.env() })).code).toBe(EXIT.OK);
    const help = await cli(['help']);
    expect(help.code).toBe(EXIT.OK);
    expect(help.stdout).toContain('Usage: switchyard');
    expect((await cli(['help', 'failover'])).stdout).toContain('--reason <text>');
    expect(await cli(['--version'])).toMatchObject({ code: EXIT.OK, stdout: '0.1.0\n' });
  });

  it('1 — invalid input or refused: unknown region, edge target, no confirmation without a TTY', async () => {
    const unknown = await cli(['drain', 'r9', '--reason', 'x'], { env: d.env() });
    expect(unknown.code).toBe(EXIT.INVALID);
    expect(unknown.stderr).toMatch(/^switchyard: unknown region "r9"/);
    const edge = await cli(['failover', '--to', 'r3', '--reason', 'x', '--yes'], { env: d.env() });
    expect(edge.code).toBe(EXIT.INVALID);
    expect(edge.stderr).toContain('has no databases to promote');
    const noTty = await cli(['failover', '--to', 'r2', '--reason', 'x'], { env: d.env() });
    expect(noTty.code).toBe(EXIT.INVALID);
    expect(noTty.stderr).toMatch(/stdin is not a terminal; re-run with --yes/);
    expect((await d.status()).main).toBe('r1');
  });

  it('2 — usage error: unknown option, missing argument, no --reason for failover or switchover', async () => {
    expect((await cli(['status', '--bogus'])).code).toBe(EXIT.USAGE);
    expect((await cli(['drain'])).code).toBe(EXIT.USAGE);
    expect((await cli([])).code).toBe(EXIT.USAGE);
    const f = await cli(['failover', '--to', 'r2', '--yes'], { env: d.env() });
    expect(f.code).toBe(EXIT.USAGE);
    expect(f.stderr).toContain('failover needs --reason <text>');
    const s = await cli(['switchover', '--to', 'r2', '--yes'], { env: d.env() });
    expect(s.code).toBe(EXIT.USAGE);
    expect((await d.status()).main).toBe('r1');
  });

  it('3 — daemon unreachable: read-only and admin addresses each named', async () => {
    const port = await closedPort();
    const r = await cli(['status', '--addr', `127.0.0.1:${port}`]);
    expect(r.code).toBe(EXIT.UNREACHABLE);
    expect(r.stderr).toMatch(
      /cannot reach the switchyard daemon at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED.*--addr/,
    );
    const w = await cli(['freeze', '--admin-addr', `127.0.0.1:${port}`, '--reason', 'x'], {
      env: { SWITCHYARD_TOKEN: ALICE_TOKEN },
    });
    expect(w.code).toBe(EXIT.UNREACHABLE);
    expect(w.stderr).toContain('--admin-addr or SWITCHYARD_ADMIN_ADDR');
    // Writes never go to the read-only listener: it has no admin API.
    const wrong = await cli(['freeze', '--admin-addr', d.addr, '--reason', 'x'], {
      env: { SWITCHYARD_TOKEN: ALICE_TOKEN },
    });
    expect(wrong.code).toBe(EXIT.INVALID);
    expect(wrong.stderr).toContain('the admin API is on its own listener');
  });

  it('3 — not a switchyard daemon: another web server, another JSON API, a non-HTTP service', async () => {
    const html = await httpServer(200, 'text/html', '<html>hello</html>');
    const json = await httpServer(200, 'application/json', '{"status":"ok"}');
    const notFound = await httpServer(404, 'text/plain', 'Not Found');
    const ssh = await rawServer('SSH-2.0-OpenSSH_9.6\r\n');
    const at = (s: Server) => `127.0.0.1:${(s.address() as { port: number }).port}`;
    try {
      const a = await cli(['status', '--addr', at(html)]);
      expect(a.code).toBe(EXIT.UNREACHABLE);
      expect(a.stderr).toBe(
        `switchyard: http://${at(html)} is not a switchyard daemon: /v1/status answered HTTP 200 (text/html), not JSON (check --addr or SWITCHYARD_ADDR)\n`,
      );
      const b = await cli(['status', '--addr', at(json)]);
      expect(b.code).toBe(EXIT.UNREACHABLE);
      expect(b.stderr).toContain(`http://${at(json)} is not a switchyard daemon: /v1/status answered JSON`);
      const c = await cli(['freeze', '--reason', 'x', '--admin-addr', at(notFound)], {
        env: { SWITCHYARD_TOKEN: ALICE_TOKEN },
      });
      expect(c.code).toBe(EXIT.UNREACHABLE);
      expect(c.stderr).toContain(
        `http://${at(notFound)} is not a switchyard daemon admin listener: /v1/admin/freeze answered HTTP 404 (text/plain) without a switchyard error (writes go to the admin listener: check --admin-addr`,
      );
      const e = await cli(['drain', 'r3', '--reason', 'x', '--admin-addr', at(ssh)], {
        env: { SWITCHYARD_TOKEN: ALICE_TOKEN },
      });
      expect(e.code).toBe(EXIT.UNREACHABLE);
      expect(e.stderr).toMatch(
        new RegExp(
          `http://${at(ssh)} is not a switchyard daemon admin listener: what it sent back is not HTTP \\(HPE_`,
        ),
      );
    } finally {
      for (const s of [html, json, notFound, ssh]) await new Promise((r) => s.close(r));
    }
    expect((await d.status()).overrides).toMatchObject({ frozen: false, drained: [] });
  });

  it('3 — a daemon that does not answer: the message names the address, the request and the timeout', async () => {
    const silent = await startSilentServer();
    try {
      const addr = `127.0.0.1:${silent.port}`;
      const t0 = performance.now();
      const r = await cli(['status', '--addr', addr, '--timeout', '300ms']);
      expect(performance.now() - t0).toBeLessThan(5_000);
      expect(r.code).toBe(EXIT.UNREACHABLE);
      expect(r.stderr).toBe(
        `switchyard: no answer from http://${addr} to GET /v1/status within 300ms (is the daemon running and not stuck? check --addr or SWITCHYARD_ADDR; --timeout waits longer)\n`,
      );
      const w = await cli(['unfreeze', '--admin-addr', addr, '--timeout', '1s'], {
        env: { SWITCHYARD_TOKEN: ALICE_TOKEN },
      });
      expect(w.code).toBe(EXIT.UNREACHABLE);
      expect(w.stderr).toContain(`no answer from http://${addr} to POST /v1/admin/unfreeze within 1s`);
      expect(silent.arrivals.length).toBe(2);
    } finally {
      await silent.close();
    }
    const bad = await cli(['status', '--timeout', 'soon']);
    expect(bad.code).toBe(EXIT.USAGE);
    expect(bad.stderr).toContain("option '--timeout <duration>' argument 'soon' is invalid");
  });

  it('4 — unauthorized: no token, or a wrong one; nothing changes', async () => {
    const none = await cli(['freeze', '--reason', 'x'], { env: d.env(null) });
    expect(none.code).toBe(EXIT.UNAUTHORIZED);
    expect(none.stderr).toMatch(/missing bearer token.*--token-file/);
    const wrong = await cli(['freeze', '--reason', 'x', '--token', 'nope'], { env: d.env(null) });
    expect(wrong.code).toBe(EXIT.UNAUTHORIZED);
    expect((await d.status()).overrides.frozen).toBe(false);
  });

  it('5 — conflict: failover while frozen, and past the RPO guard without --force', async () => {
    expect((await cli(['freeze', '--reason', 'row 5'], { env: d.env() })).code).toBe(EXIT.OK);
    try {
      const r = await cli(['failover', '--to', 'r2', '--reason', 'x', '--yes'], { env: d.env() });
      expect(r.code).toBe(EXIT.CONFLICT);
      expect(r.stderr).toContain('frozen');
    } finally {
      expect((await cli(['unfreeze', '--reason', 'row 5 done'], { env: d.env() })).code).toBe(EXIT.OK);
    }
    for (const k of ['apim', 'shared']) d.world.database('r2', k).lagSeconds = 60;
    try {
      await until(
        async () =>
          (await d.status()).regions
            .find((r) => r.id === 'r2')
            ?.components.some((c) => c.kind === 'database' && (c.lagSeconds ?? 0) >= 60) === true,
        5_000,
        'lag seen',
      );
      const r = await cli(['failover', '--to', 'r2', '--reason', 'x', '--yes'], { env: d.env() });
      expect(r.code).toBe(EXIT.CONFLICT);
      expect(r.stdout).toContain('only --force goes ahead');
      expect(r.stderr).toMatch(/failover not applied/);
    } finally {
      for (const k of ['apim', 'shared']) d.world.database('r2', k).lagSeconds = 0;
    }
    expect((await d.status()).main).toBe('r1');
  });

  it('6 — the daemon failed while applying: a switchover whose catch-up cannot finish', async () => {
    for (const k of ['apim', 'shared']) d.world.database('r2', k).lagSeconds = 60;
    try {
      const r = await cli(['switchover', '--to', 'r2', '--reason', 'row 6', '--yes'], { env: d.env() });
      expect(r.code).toBe(EXIT.DAEMON_ERROR);
      expect(r.stdout).toContain('FAILED at catch-up');
    } finally {
      for (const k of ['apim', 'shared']) d.world.database('r2', k).lagSeconds = 0;
    }
    expect((await d.status()).main).toBe('r1');
  });
});

describe('overrides carry who and why', () => {
  it('drain --reason: the identity is the token name; journal, log and /v1/status carry it', async () => {
    const r = await cli(['drain', 'r4', '--reason', 'kernel upgrade', '--json'], { env: d.env() });
    expect(r.code).toBe(EXIT.OK);
    expect(JSON.parse(r.stdout)).toMatchObject({ changed: true, by: 'alice', reason: 'kernel upgrade' });
    const s = await d.status();
    expect(s.activeOverrides).toContainEqual(
      expect.objectContaining({ kind: 'drain', target: 'r4', by: 'alice', reason: 'kernel upgrade' }),
    );
    expect(s.journal[0]).toMatchObject({
      action: 'override',
      target: 'r4',
      by: 'alice',
      reason: 'kernel upgrade',
    });
    const entry = d.state().journal.at(-1);
    expect(entry?.detail).toBe(
      'drain r4: drained r4: its api and auth traffic leave it (by alice: kernel upgrade)',
    );
    expect(d.events()).toContainEqual(
      expect.objectContaining({
        event: 'override',
        kind: 'drain',
        target: 'r4',
        by: 'alice',
        reason: 'kernel upgrade',
      }),
    );
    const text = await cli(['status'], { env: d.env(null) });
    expect(text.stdout).toMatch(/r4 drained by alice \d+s ago: kernel upgrade/);
    expect(text.stdout).toContain('last operator requests:');
  });

  it('every override change is one journal entry (the audit trail); a repeat that changes nothing is none', async () => {
    const before = d.state().journal.filter((e) => e.action === 'override').length;
    await cli(['drain', 'r4', '--reason', 'again'], { env: d.env() });
    await cli(['freeze', '--reason', 'audit'], { env: d.env() });
    await cli(['unfreeze'], { env: d.env() });
    const after = d.state().journal.filter((e) => e.action === 'override');
    expect(after.length).toBe(before + 2);
    expect(after.at(-1)).toMatchObject({ target: 'director', by: 'alice' });
    expect(after.at(-1)?.detail).toContain('(by alice (no reason given))');
  });
});

describe('status says what DNS serves', () => {
  it('while frozen: a drained region at weight 0 is not serving; a down region still weighted is, and says so', async () => {
    // r4 is drained (previous case): its api record moved away.
    await until(() => d.dns()['api.r4.example.com/A']?.r4 === 0, 5_000, 'r4 drained in DNS');
    expect((await cli(['freeze', '--reason', 'status while frozen'], { env: d.env() })).code).toBe(EXIT.OK);
    d.world.setRegion('r3', false);
    try {
      await until(
        async () => (await d.status()).regions.find((r) => r.id === 'r3')?.components[0]?.status === 'down',
        10_000,
        'r3 down',
      );
      const s = await d.status();
      const r4 = s.regions.find((r) => r.id === 'r4');
      const r3 = s.regions.find((r) => r.id === 'r3');
      expect(r4?.serving.api).toBe(false);
      expect(d.dns()['api.r3.example.com/A']?.r3).toBe(100); // frozen: DNS still sends r3 its traffic
      expect(r3?.serving.api).toBe(true);
      const text = (await cli(['status'], { env: d.env(null) })).stdout;
      expect(text).toMatch(/r4\s+edge\s+edge\s+up \S+(\s+-)+\s+no\s+no\s+no\s+drained/);
      expect(text).toMatch(/r3\s+edge\s+edge\s+down \S+(\s+-)+\s+yes\s+no\s+no\s+served while down/);
    } finally {
      d.world.setRegion('r3', true);
      await cli(['unfreeze', '--reason', 'done'], { env: d.env() });
      await cli(['undrain', 'r4', '--reason', 'done'], { env: d.env() });
    }
  });

  it('dns: the last change and the last read, not a no-op apply every second', {
    timeout: 20_000,
  }, async () => {
    await until(
      () => d.dns()['api.r4.example.com/A']?.r4 === 100 && d.dns()['api.r3.example.com/A']?.r3 === 100,
      10_000,
      'r3 and r4 back in DNS',
    );
    // Once nothing moves, the last change stays where it was (whatever no-op reconciles run).
    let first = (await d.status()).dns;
    let later = first;
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 2_200));
      later = (await d.status()).dns;
      if (later.lastChangeAt === first.lastChangeAt) break;
      first = later; // a hold-down was still releasing something: measure a quiet window again
    }
    expect(first.lastChangeAt).not.toBeNull();
    expect(first.lastReadAt).not.toBeNull();
    expect(later.lastChangeAt).toBe(first.lastChangeAt);
    const text = (await cli(['status'], { env: d.env(null) })).stdout;
    expect(text).toMatch(/dns: file, last change [2-9]s ago, last read \d+s ago/);
  });
});

/** An HTTP server that answers every request the same way: something that is not switchyard. */
async function httpServer(status: number, type: string, body: string): Promise<Server> {
  const s = createHttpServer((_req, res) => {
    res.writeHead(status, { 'content-type': type });
    res.end(body);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return s as unknown as Server;
}

/** A TCP service that greets with its banner and does not speak HTTP (an SSH server, say). */
async function rawServer(banner: string): Promise<Server> {
  const s = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.resume(); // read (and drop) the request, so the client's close is seen
    socket.end(banner);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return s;
}
