import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandFlags, parseArgs } from '../support/cli-flags.js';
import { ROOT } from '../support/engine.js';

/**
 * No Docker engine runs here and hadolint is not packaged, so the Dockerfile's rules are checked
 * by reading it: a pinned LTS base, a build stage and a runtime stage with production
 * dependencies and dist/ only, a non-root user, a health check on /healthz at the port the
 * daemon listens on, arguments the real CLI accepts, and a .dockerignore that keeps
 * node_modules, var, .git and the tests out of the build context.
 */

interface Instruction {
  op: string;
  args: string;
  line: number;
}

/** Dockerfile → instructions: comments dropped, backslash continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buf = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (buf === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) return;
    if (buf !== '' && line.trimStart().startsWith('#')) return; // comment inside a continuation
    if (buf === '') start = i + 1;
    if (line.endsWith('\\')) {
      buf += `${line.slice(0, -1)} `;
      return;
    }
    buf += line;
    const m = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(buf);
    if (m?.[1] && m[2] !== undefined) out.push({ op: m[1].toUpperCase(), args: m[2].trim(), line: start });
    buf = '';
  });
  return out;
}

interface Stage {
  from: string;
  name?: string;
  body: Instruction[];
}

function stages(ins: Instruction[]): Stage[] {
  const out: Stage[] = [];
  for (const i of ins) {
    if (i.op === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(i.args);
      out.push({ from: m?.[1] ?? i.args, ...(m?.[2] ? { name: m[2] } : {}), body: [] });
    } else out.at(-1)?.body.push(i);
  }
  return out;
}

/** JSON (exec) form → words; shell form → whitespace-split words. */
function words(args: string): string[] {
  const t = args.trim();
  if (t.startsWith('[')) return JSON.parse(t) as string[];
  return t.split(/\s+/);
}

/** Docker's .dockerignore semantics: last matching pattern wins; a pattern matching a parent directory matches the path. */
function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+/, '').replace(/\/+$/, '');
      const re = pattern
        .split(/(\*\*\/|\*\*|\*|\?)/)
        .map((part) =>
          part === '**/'
            ? '(?:.*/)?'
            : part === '**'
              ? '.*'
              : part === '*'
                ? '[^/]*'
                : part === '?'
                  ? '[^/]'
                  : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
        )
        .join('');
      return { negate, re: new RegExp(`^${re}$`) };
    });
  return (path) => {
    const parts = path.split('/');
    const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const r of rules) if (candidates.some((c) => r.re.test(c))) excluded = !r.negate;
    return excluded;
  };
}

const dockerfile = readFileSync(resolve(ROOT, 'Dockerfile'), 'utf8');
const ins = parseDockerfile(dockerfile);
const all = stages(ins);
const runtime = all.at(-1) as Stage;
/** The Node flags the image runs the daemon with (each justified by a measurement in bench/RESULTS.md). */
const NODE_FLAGS = ['--liftoff-only'];
const build = all.find((s) => s.name === 'build');
const args = new Map(
  ins
    .filter((i) => i.op === 'ARG')
    .map((i) => {
      const [k, v] = i.args.split('=');
      return [k ?? '', v ?? ''] as const;
    }),
);
const resolveArgs = (s: string) => s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => args.get(a ?? b) ?? '');
const last = (stage: Stage, op: string) => stage.body.filter((i) => i.op === op).at(-1);
const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  engines: { node: string };
};

describe('Dockerfile', () => {
  it('builds on a pinned Node.js LTS release of a slim Debian image, in every stage', () => {
    expect(all.length).toBeGreaterThanOrEqual(2);
    for (const s of all) {
      const image = resolveArgs(s.from);
      const m = /^node:(\d+)\.(\d+)\.(\d+)-(bookworm|trixie)-slim$/.exec(image);
      expect(m, `FROM ${s.from} → ${image}: pin node:<major.minor.patch>-<debian>-slim`).not.toBeNull();
      const major = Number(m?.[1]);
      expect(major % 2, 'LTS lines are the even majors').toBe(0);
      expect(major).toBeGreaterThanOrEqual(Number(/\d+/.exec(pkg.engines.node)?.[0]));
    }
    expect(dockerfile).not.toMatch(/:latest\b/);
  });

  it('is multi-stage: dev dependencies and the compiler stay in the build stage', () => {
    expect(build, 'a stage named "build"').toBeDefined();
    const runs = (s: Stage) => s.body.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs(build as Stage).some((r) => /\bnpm ci\b(?!.*--omit)/.test(r))).toBe(true);
    expect(runs(build as Stage).some((r) => /\bnpm run build\b/.test(r))).toBe(true);
    expect(runtime.name).not.toBe('build');
    const runtimeNpm = runs(runtime).filter((r) => /\bnpm (ci|install|i)\b/.test(r));
    expect(runtimeNpm.length).toBe(1);
    expect(runtimeNpm[0]).toMatch(/\bnpm ci\b.*--omit=dev/);
    expect(runs(runtime).some((r) => /\bnpm run build\b|\btsc\b/.test(r))).toBe(false);
  });

  it('copies only package metadata and the built dist/ into the runtime image', () => {
    const copies = runtime.body.filter((i) => i.op === 'COPY' || i.op === 'ADD');
    expect(copies.every((c) => c.op === 'COPY')).toBe(true);
    for (const c of copies) {
      const w = words(c.args);
      const from = w.find((x) => x.startsWith('--from='))?.slice('--from='.length);
      const paths = w.filter((x) => !x.startsWith('--'));
      const sources = paths.slice(0, -1);
      if (from !== undefined) {
        expect(from).toBe('build');
        expect(sources).toEqual(['/src/dist']);
        expect(paths.at(-1)).toMatch(/\/?dist\/?$/);
      } else expect(sources.sort()).toEqual(['package-lock.json', 'package.json']);
    }
    // What the build stage compiles into is what the runtime copies.
    const buildWorkdir = last(build as Stage, 'WORKDIR')?.args;
    expect(buildWorkdir).toBe('/src');
  });

  it('runs as a non-root user with a fixed numeric uid', () => {
    const user = last(runtime, 'USER');
    expect(user, 'USER in the runtime stage').toBeDefined();
    const [uid, gid] = (user?.args ?? '').split(':');
    expect(uid).toMatch(/^\d+$/);
    expect(Number(uid)).toBeGreaterThan(0);
    expect(gid === undefined || Number(gid) > 0).toBe(true);
    const entry = runtime.body.findIndex((i) => i.op === 'ENTRYPOINT' || i.op === 'CMD');
    expect(runtime.body.indexOf(user as Instruction)).toBeLessThan(entry);
    // the state volume belongs to that user
    expect(dockerfile).toMatch(new RegExp(`chown ${uid}:${gid ?? uid} /var/lib/switchyard`));
  });

  it('runs node with --liftoff-only, a flag this Node accepts on the command line (not in NODE_OPTIONS)', () => {
    // Measured (bench/RESULTS.md, "Whole daemon at scale"): without it V8 recompiles undici's
    // WebAssembly parser after the first probes, a ~35 MiB peak that a memory limit must allow for.
    const entry = words(last(runtime, 'ENTRYPOINT')?.args ?? '[]');
    expect(entry.slice(3, -1)).toEqual(['--liftoff-only']);
    for (const f of NODE_FLAGS) {
      const r = spawnSync(process.execPath, [f, '-e', '0'], { encoding: 'utf8' });
      expect(r.status, `${f}: ${r.stderr}`).toBe(0);
      const viaEnv = spawnSync(process.execPath, ['-e', '0'], {
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: f },
      });
      expect(viaEnv.status).not.toBe(0); // hence on the ENTRYPOINT, not in ENV NODE_OPTIONS
    }
    expect(runtime.body.some((i) => i.op === 'ENV' && /NODE_OPTIONS=/.test(i.args))).toBe(false);
  });

  it('starts the daemon with arguments `switchyard run` accepts, under an init that forwards signals', () => {
    const entry = words(last(runtime, 'ENTRYPOINT')?.args ?? '[]');
    const cmd = words(last(runtime, 'CMD')?.args ?? '[]');
    expect(entry.slice(0, 2)).toEqual(['/usr/bin/tini', '--']);
    expect(runtime.body.some((i) => i.op === 'RUN' && /apt-get install.*\btini\b/.test(i.args))).toBe(true);
    const workdir = runtime.body.find((i) => i.op === 'WORKDIR')?.args;
    expect(entry.slice(2)).toEqual(['node', ...NODE_FLAGS, `${workdir}/${pkg.bin.switchyard}`]);
    const parsed = parseArgs(cmd, commandFlags('run'));
    expect(parsed.command).toBe('run');
    expect(parsed.problems).toEqual([]);
    expect(parsed.values.get('config')).toBe('/etc/switchyard/switchyard.yaml');
    expect(parsed.values.get('listen')).toBe('0.0.0.0:9464');
    expect(last(runtime, 'STOPSIGNAL')?.args ?? 'SIGTERM').toBe('SIGTERM');
  });

  it('declares config and state as volumes, and exposes the listener it starts', () => {
    const volumes = runtime.body.filter((i) => i.op === 'VOLUME').flatMap((i) => words(i.args));
    expect(volumes).toEqual(expect.arrayContaining(['/etc/switchyard', '/var/lib/switchyard']));
    const cmd = parseArgs(words(last(runtime, 'CMD')?.args ?? '[]'), commandFlags('run'));
    const config = String(cmd.values.get('config'));
    expect(volumes.some((v) => config.startsWith(`${v}/`))).toBe(true);
    const port = String(cmd.values.get('listen')).split(':').at(-1);
    expect(runtime.body.filter((i) => i.op === 'EXPOSE').flatMap((i) => words(i.args))).toEqual([port]);
  });

  it('checks its health on /healthz at the port the daemon listens on, with Node (no curl in slim)', () => {
    const hc = last(runtime, 'HEALTHCHECK');
    expect(hc).toBeDefined();
    const cmd = words((hc?.args ?? '').replace(/^(--\S+\s+)*CMD\s+/, ''));
    expect(cmd[0]).toBe('node');
    expect(cmd.join(' ')).not.toMatch(/\b(curl|wget)\b/);
    expect(cmd.join(' ')).toMatch(/AbortSignal\.timeout\(/);
    const env = runtime.body
      .filter((i) => i.op === 'ENV')
      .map((i) => /SWITCHYARD_HEALTHCHECK_URL=(\S+)/.exec(i.args)?.[1])
      .find(Boolean);
    const url = new URL(cmd.join(' ').includes('SWITCHYARD_HEALTHCHECK_URL') ? (env ?? '') : '');
    expect(url.pathname).toBe('/healthz');
    const listen = parseArgs(words(last(runtime, 'CMD')?.args ?? '[]'), commandFlags('run')).values.get(
      'listen',
    );
    expect(url.port).toBe(String(listen).split(':').at(-1));
    expect(['127.0.0.1', 'localhost']).toContain(url.hostname);
  });
});

describe('.dockerignore', () => {
  const ignored = dockerignore(readFileSync(resolve(ROOT, '.dockerignore'), 'utf8'));

  it('keeps node_modules, build output, state, git, tests and artefacts out of the build context', () => {
    for (const p of [
      'node_modules/zod/package.json',
      'dist/cli/main.js',
      'var/state.json',
      'var/demo/dns.json',
      '.git/HEAD',
      'test/unit/dockerfile.test.ts',
      'bench/RESULTS.md',
      'test-artifacts/status-page.png',
      'src/node_modules/x.js',
      'npm-debug.log',
    ])
      expect(ignored(p), p).toBe(true);
  });

  it('lets in everything the Dockerfile copies from the context', () => {
    const fromContext = ins
      .filter((i) => i.op === 'COPY' && !i.args.includes('--from='))
      .flatMap((i) => words(i.args).slice(0, -1));
    expect(fromContext.length).toBeGreaterThan(0);
    for (const src of fromContext) {
      expect(existsSync(resolve(ROOT, src)), src).toBe(true);
      expect(ignored(src), src).toBe(false);
    }
    expect(ignored('src/cli/main.ts')).toBe(false);
    expect(ignored('src/server/status-page.ts')).toBe(false);
  });

  it('the matcher follows Docker: last match wins, parents match, ** spans directories', () => {
    const m = dockerignore('*\n!src/\n**/secret\n');
    expect(m('README.md')).toBe(true);
    expect(m('src/a/b.ts')).toBe(false);
    expect(m('src/a/secret')).toBe(true);
    expect(m('secret')).toBe(true);
  });
});
