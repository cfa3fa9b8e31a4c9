import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/engine.js';
import { freePort, removeDir, stopProcess, tempDir, waitFor } from '../support/proc.js';

/**
 * What an operator (and the Docker image's runtime stage) gets: `npm pack`, then a production
 * install of the tarball in an empty folder outside the repository — no devDependencies, no
 * sources, no repository node_modules to fall back on — then the installed `switchyard` runs:
 * --version, validate on the shipped example, and the demo daemon serving its page.
 * The install downloads packages from the npm registry (through the local cache when warm).
 */
const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
};

let dir: string;
let app: string;
let tarball: string;
let files: string[];
const children: ChildProcess[] = [];

/** The parent npm's lifecycle variables (npm test) must not leak into the child npm runs. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, NO_COLOR: '1', npm_config_update_notifier: 'false' };
}

function npm(args: string[], cwd: string, timeoutMs: number) {
  const r = spawnSync('npm', args, { cwd, env: cleanEnv(), encoding: 'utf8', timeout: timeoutMs });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const bin = () => join(app, 'node_modules', '.bin', 'switchyard');
const run = (args: string[]) =>
  spawnSync(bin(), args, { cwd: app, env: cleanEnv(), encoding: 'utf8', timeout: 30_000 });

beforeAll(async () => {
  dir = await tempDir('sy-pack-');
  app = join(dir, 'app');
  mkdirSync(app);
  // prepack rebuilds dist/ from a clean slate, so the tarball never carries stale output.
  const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', dir], ROOT, 240_000)) as {
    filename: string;
    files: { path: string }[];
  }[];
  tarball = join(dir, packed[0]?.filename ?? '');
  files = packed[0]?.files.map((f) => f.path) ?? [];
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'install-check', private: true }));
  npm(
    ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball],
    app,
    420_000,
  );
}, 600_000);

afterAll(async () => {
  for (const c of children) await stopProcess(c, 'SIGKILL', 1_000);
  if (dir) await removeDir(dir);
});

describe('npm pack + production install', () => {
  it('packs what the installed CLI needs and no tests or sources', () => {
    expect(tarball).toMatch(new RegExp(`${pkg.name}-${pkg.version.replace(/\./g, '\\.')}\\.tgz$`));
    for (const f of [
      'package.json',
      'dist/cli/main.js',
      'dist/server/status-page.js',
      'config/switchyard.example.yaml',
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
      'docs/configuration.md',
    ])
      expect(files, f).toContain(f);
    const stray = files.filter(
      (f) =>
        /^(test|src|bench|scripts|\.ci|lint|var|test-artifacts|node_modules)\//.test(f) ||
        /\.test\.[jt]s$/.test(f) ||
        (f.endsWith('.ts') && !f.endsWith('.d.ts')),
    );
    expect(stray).toEqual([]);
    // Every compiled module comes from a source file that still exists (no stale output).
    for (const f of files.filter((x) => x.startsWith('dist/') && x.endsWith('.js')))
      expect(existsSync(resolve(ROOT, f.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts'))), f).toBe(true);
  });

  it('installs the production dependencies and none of the dev ones', () => {
    const modules = join(app, 'node_modules');
    expect(existsSync(join(modules, pkg.name, 'dist', 'cli', 'main.js'))).toBe(true);
    for (const dep of Object.keys(pkg.dependencies)) expect(existsSync(join(modules, dep)), dep).toBe(true);
    // Dev-only per the lockfile: the devDependencies and what only they pull in (a dev dependency
    // that a production one also needs, like @types/node for mysql2, is not dev-only).
    const lock = JSON.parse(readFileSync(resolve(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.entries(lock.packages)
      .filter(([path, p]) => p.dev === true && /^node_modules\/(@[^/]+\/)?[^/]+$/.test(path))
      .map(([path]) => path.slice('node_modules/'.length));
    expect(devOnly).toEqual(
      expect.arrayContaining(['typescript', 'vitest', 'playwright-core', 'tsx', 'nock']),
    );
    expect(devOnly.filter((name) => existsSync(join(modules, name)))).toEqual([]);
    expect(existsSync(bin())).toBe(true);
  });

  it('`switchyard --version` prints the package version', () => {
    const r = run(['--version']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(pkg.version);
    expect(r.status).toBe(0);
  });

  it('`switchyard validate` accepts the shipped example and rejects a broken copy with its path', () => {
    const example = join(app, 'node_modules', pkg.name, 'config', 'switchyard.example.yaml');
    const ok = run(['validate', example]);
    expect(ok.stdout).toMatch(
      /: valid — 4 regions r1\(main\) r2\(failover\) r3\(edge\) r4\(edge\), \d+ probe targets, 9 records, dns route53/,
    );
    expect(ok.status).toBe(0);

    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, readFileSync(example, 'utf8').replace('failover: [r1, r2]', 'failover: [r1, r9]'));
    const bad = run(['validate', broken]);
    expect(bad.stderr).toContain('regions.r3.failover[1]');
    expect(bad.status).toBe(1);
  });

  it('the installed daemon starts (demo), serves its page and stops on SIGTERM', async () => {
    const port = await freePort();
    let out = '';
    const child = spawn(
      bin(),
      [
        'demo',
        '--dir',
        join(dir, 'demo'),
        '--listen',
        `127.0.0.1:${port}`,
        '--world-port',
        '0',
        '--log-level',
        'warn',
      ],
      { cwd: app, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const origin = `http://127.0.0.1:${port}`;
    await waitFor(
      `installed demo ready\n${out}`,
      async () => (await fetch(`${origin}/readyz`)).status === 200,
      30_000,
      200,
    );
    const page = await fetch(`${origin}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>switchyard</title>');
    const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const signalled = Date.now();
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    // Promptly: within a container's stop grace (docker stop waits 10 s), not after some timer
    // left armed by start-up runs out.
    expect(Date.now() - signalled).toBeLessThan(5_000);
  }, 60_000);
});
