import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { z } from 'zod';
import { parseConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { cli } from '../support/cli.js';
import { commandFlags, parseArgs } from '../support/cli-flags.js';
import { type DemoDaemon, startDemoDaemon } from '../support/demo-daemon-live.js';
import { ROOT } from '../support/engine.js';
import { type K8sObject, renderKustomization, selects } from '../support/kustomize.js';
import { removeDir, tempDir, waitFor } from '../support/proc.js';

/**
 * deploy/kubernetes checked against the program (kubeconform is not installable here, and it
 * would only check the schema): container arguments are flags `switchyard run` accepts; probe
 * and scrape paths are routes a live daemon serves; ports agree with --listen; every file the
 * configurations name is mounted; the configurations validate with the real loader and CLI;
 * the Secret keys the env references are exactly the configurations' env: references; selectors
 * select what they must and nothing else; one instance per region, all alike but for the region.
 */
const K8S = resolve(ROOT, 'deploy/kubernetes');
const rendered = renderKustomization(K8S, ROOT);
const objects = rendered.objects;
const of = (kind: string) => objects.filter((o) => o.kind === kind);
const deployments = of('Deployment');
const container = (d: K8sObject) => d.spec.template.spec.containers[0];
const podLabels = (d: K8sObject): Record<string, string> => d.spec.template.metadata.labels;

/** Objects the operator creates (docs/kubernetes.md), referenced but never defined here. */
const EXTERNAL = { Secret: ['switchyard-secrets'], ConfigMap: ['switchyard-ca'] };

/** The read-only listener's port; the admin listener's planned default (admin.listen) must stay private. */
const ADMIN_DEFAULT_PORT = 9465;

/**
 * Keys the per-region configurations use ahead of the schema (issue 10, etcd: being added
 * now). While the schema lacks one it is removed before validating; once the schema has it, it is
 * validated like any other key.
 */
const PENDING_CONFIG_KEYS = [
  ['director', 'region'],
  ['state', 'etcd', 'username'],
  ['state', 'etcd', 'password'],
  ['state', 'etcd', 'tls'],
] as const;

function unwrap(s: z.ZodType): z.ZodType {
  let n = s;
  for (let i = 0; i < 20; i++) {
    const d = (n as unknown as { _zod: { def: { type: string; innerType?: z.ZodType; in?: z.ZodType } } })
      ._zod.def;
    if (d.innerType) n = d.innerType;
    else if (d.type === 'pipe' && d.in) n = d.in;
    else break;
  }
  return n;
}
function schemaKnows(path: readonly string[]): boolean {
  let node: z.ZodType = configSchema;
  for (const key of path) {
    const shape = (unwrap(node) as unknown as { shape?: Record<string, z.ZodType> }).shape;
    const next = shape?.[key];
    if (!next) return false;
    node = next;
  }
  return true;
}
function withoutUnknownPending(raw: Record<string, unknown>): {
  raw: Record<string, unknown>;
  stripped: string[];
} {
  const copy = structuredClone(raw);
  const stripped: string[] = [];
  for (const path of PENDING_CONFIG_KEYS) {
    if (schemaKnows(path)) continue;
    let node: unknown = copy;
    for (const k of path.slice(0, -1)) node = (node as Record<string, unknown> | undefined)?.[k];
    const parent = node as Record<string, unknown> | undefined;
    const last = path.at(-1) as string;
    if (parent && last in parent) {
      delete parent[last];
      stripped.push(path.join('.'));
    }
  }
  return { raw: copy, stripped };
}

/** What validating today needs beyond stripping unknown keys: the etcd store is refused until issue 10. */
const STORE_REFUSED = /^state\.store: "etcd" .* not available in this version/;
const PENDING_NOTES = [
  ...PENDING_CONFIG_KEYS.map((k) => `${k.join('.')} not in the schema yet`),
  'state.store etcd not available yet: validated with the file store',
];
function pendingFallback(
  raw: Record<string, any>,
  source: string,
): { raw: Record<string, any>; notes: string[] } {
  const { raw: stripped, stripped: keys } = withoutUnknownPending(raw) as {
    raw: Record<string, any>;
    stripped: string[];
  };
  const notes = keys.map((k) => `${k} not in the schema yet`);
  try {
    parseConfig(stripped, source);
    return { raw: stripped, notes };
  } catch (e) {
    const details = (e as { details?: string[] }).details ?? [];
    if (details.length === 0 || !details.every((l) => STORE_REFUSED.test(l))) throw e;
    const { etcd: _etcd, ...rest } = stripped.state;
    return {
      raw: { ...stripped, state: { ...rest, store: 'file', path: '/var/lib/switchyard/state.json' } },
      notes: [...notes, 'state.store etcd not available yet: validated with the file store'],
    };
  }
}

/** The region configurations, from the generated ConfigMaps. */
const configMaps = of('ConfigMap');
const regionConfig = (d: K8sObject) => {
  const name = configVolume(d).projected.sources.find((s: { configMap?: { items: { key: string }[] } }) =>
    s.configMap?.items.some((i) => i.key === 'switchyard.yaml'),
  ).configMap.name as string;
  const cm = configMaps.find((c) => c.metadata.name === name);
  if (!cm?.data?.['switchyard.yaml'])
    throw new Error(`${d.metadata.name}: no ConfigMap ${name} with switchyard.yaml`);
  return {
    name,
    text: cm.data['switchyard.yaml'],
    raw: parse(cm.data['switchyard.yaml']) as Record<string, any>,
  };
};
const configVolume = (d: K8sObject) => {
  const mount = container(d).volumeMounts.find((m: { mountPath: string }) =>
    String(runArgs(d).values.get('config')).startsWith(`${m.mountPath}/`),
  );
  return d.spec.template.spec.volumes.find((v: { name: string }) => v.name === mount?.name);
};
const runArgs = (d: K8sObject) => parseArgs(container(d).args, commandFlags('run'));

/** Every file a mount provides: mountPath/item path, for ConfigMap, Secret and projected volumes. */
function mountedFiles(
  d: K8sObject,
): Map<string, { kind: 'ConfigMap' | 'Secret'; name: string; key: string }> {
  const out = new Map<string, { kind: 'ConfigMap' | 'Secret'; name: string; key: string }>();
  const volumes = new Map<string, any>(
    d.spec.template.spec.volumes.map((v: { name: string }) => [v.name, v]),
  );
  for (const m of container(d).volumeMounts) {
    const v = volumes.get(m.name);
    const sources = v?.projected
      ? v.projected.sources
      : v?.configMap
        ? [{ configMap: v.configMap }]
        : v?.secret
          ? [{ secret: v.secret }]
          : [];
    for (const s of sources) {
      const kind = s.configMap ? 'ConfigMap' : s.secret ? 'Secret' : undefined;
      const src = s.configMap ?? s.secret;
      if (!kind) continue;
      const name = src.name ?? src.secretName;
      for (const i of src.items ?? []) out.set(`${m.mountPath}/${i.path}`, { kind, name, key: i.key });
    }
  }
  return out;
}

/** env:/file: references anywhere in a configuration. */
function secretRefs(v: unknown, out = { env: new Set<string>(), file: new Set<string>() }) {
  if (typeof v === 'string') {
    if (/^env:[A-Za-z_]\w*$/.test(v)) out.env.add(v.slice(4));
    if (/^file:\//.test(v)) out.file.add(v.slice(5));
  } else if (Array.isArray(v)) for (const x of v) secretRefs(x, out);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) secretRefs(x, out);
  return out;
}
/** Paths of files a configuration reads: TLS material anywhere, and hard-fence commands. */
function filePaths(v: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const x of v) filePaths(x, out);
  else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v as Record<string, any>)) {
      if (k === 'tls' && x && typeof x === 'object')
        for (const f of ['ca', 'cert', 'key']) if (typeof x[f] === 'string') out.add(x[f]);
      if (k === 'hardFence' && typeof x?.command?.[0] === 'string') out.add(x.command[0]);
      filePaths(x, out);
    }
  return out;
}

let demo: DemoDaemon;
beforeAll(async () => {
  demo = await startDemoDaemon();
  await waitFor('ready', async () => (await fetch(`${demo.origin}/readyz`)).status === 200, 30_000, 200);
}, 60_000);
afterAll(async () => {
  await demo?.stop();
});

describe('deploy/kubernetes', () => {
  it('renders: known kinds only, no Secret values, no orphan manifest files, the old single manifest gone', () => {
    const kinds = new Set(objects.map((o) => o.kind));
    expect([...kinds].sort()).toEqual([
      'ConfigMap',
      'Deployment',
      'NetworkPolicy',
      'PodDisruptionBudget',
      'Service',
      'ServiceAccount',
      'ServiceMonitor',
    ]);
    expect(objects.filter((o) => o.kind === 'Secret' || o.data?.password || o.stringData)).toEqual([]);
    for (const o of objects) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('ops');
    const ids = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(new Set(ids).size).toBe(ids.length);
    const yamlFiles: string[] = [];
    const walk = (d: string) => {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.ya?ml$/.test(f)) yamlFiles.push(p);
      }
    };
    walk(K8S);
    expect(yamlFiles.filter((f) => !rendered.files.has(f)).map((f) => relative(ROOT, f))).toEqual([]);
  });

  it('runs one instance per region, each with its own configuration naming its region', () => {
    const cfg = regionConfig(deployments[0] as K8sObject).raw;
    const regions = Object.keys(cfg.regions).sort();
    expect(regions.length).toBeGreaterThanOrEqual(3); // observers in three regions at least (rule 6)
    expect(deployments.map((d) => podLabels(d)['switchyard.io/region']).sort()).toEqual(regions);
    const ids = new Set<string>();
    for (const d of deployments) {
      const region = podLabels(d)['switchyard.io/region'];
      expect(d.spec.replicas, d.metadata.name).toBe(1);
      expect(d.spec.strategy.type, d.metadata.name).toBe('Recreate');
      const c = regionConfig(d).raw;
      expect(c.director.region, d.metadata.name).toBe(region);
      ids.add(c.director.id);
      expect(c.state.store, 'instances share state and leadership through etcd').toBe('etcd');
      expect(c.director.observers).toBe(deployments.length);
    }
    expect(ids.size).toBe(deployments.length);
  });

  it('shares one base: configurations differ only in director.id/region, Deployments only in their region', () => {
    const norm = (d: K8sObject) => {
      const c = regionConfig(d).raw;
      const { id: _id, region: _region, ...director } = c.director;
      return { ...c, director };
    };
    const first = deployments[0] as K8sObject;
    for (const d of deployments) expect(norm(d), d.metadata.name).toEqual(norm(first));
    const shape = (d: K8sObject) => {
      const r = podLabels(d)['switchyard.io/region'] as string;
      return JSON.parse(
        JSON.stringify({ metadata: d.metadata, spec: d.spec })
          .replaceAll(`switchyard-${r}`, 'switchyard-<region>')
          .replaceAll(`"switchyard.io/region":"${r}"`, '"switchyard.io/region":"<region>"'),
      );
    };
    for (const d of deployments) expect(shape(d), d.metadata.name).toEqual(shape(first));
  });

  it('configurations validate with the real loader and `switchyard validate` (pending keys noted)', async () => {
    const dir = await tempDir('sy-k8s-');
    try {
      for (const d of deployments) {
        const { text, raw } = regionConfig(d);
        // Until the etcd work lands its keys are not in the schema and the store is refused:
        // validate everything else (and say so in the test name's "pending keys").
        const { raw: checked, notes } = pendingFallback(raw, d.metadata.name);
        expect(
          notes.every((n) => PENDING_NOTES.includes(n)),
          notes.join('; '),
        ).toBe(true);
        const { config } = parseConfig(checked, d.metadata.name);
        expect(config.regions[raw.director.region]).toBeDefined();
        const file = join(dir, `${d.metadata.name}.yaml`);
        writeFileSync(file, notes.length ? JSON.stringify(checked) : text);
        const r = cli(['validate', file]);
        expect(r.stderr.replace(/^warning: .*\n/gm, ''), d.metadata.name).toBe('');
        expect(r.stdout).toMatch(/: valid — 4 regions .*dns route53, promotion automatic/);
        expect(r.code).toBe(0);
      }
    } finally {
      await removeDir(dir);
    }
  });

  it('pending configuration arrives together: once director.region exists, the etcd keys and store validate as written', () => {
    if (!schemaKnows(['director', 'region'])) return; // issue 10 not merged yet: nothing to check
    expect(PENDING_CONFIG_KEYS.filter((k) => !schemaKnows(k)).map((k) => k.join('.'))).toEqual([]);
    for (const d of deployments)
      expect(parseConfig(regionConfig(d).raw, d.metadata.name).config.state.store).toBe('etcd');
  });

  it('container arguments are flags `switchyard run` accepts; the listener binds the pod on the container port', () => {
    for (const d of deployments) {
      const a = runArgs(d);
      expect(a.command).toBe('run');
      expect(a.problems, d.metadata.name).toEqual([]);
      const [host, port] = String(a.values.get('listen')).split(':');
      expect(host).toBe('0.0.0.0');
      const ports = container(d).ports as { name: string; containerPort: number }[];
      expect(ports).toEqual([{ name: 'http-metrics', containerPort: Number(port), protocol: 'TCP' }]);
      expect(ports.some((p) => p.containerPort === ADMIN_DEFAULT_PORT)).toBe(false);
      const c = regionConfig(d).raw;
      const admin = c.admin?.listen as string | undefined;
      if (admin) expect(admin).toMatch(/^(127\.0\.0\.1|\[::1\]|localhost):/);
    }
  });

  it('probes and the scrape use routes the daemon serves, on the listener port', async () => {
    const paths = new Set<string>();
    for (const d of deployments) {
      const c = container(d);
      expect(c.livenessProbe.httpGet.path).toBe('/healthz');
      expect(c.readinessProbe.httpGet.path).toBe('/readyz');
      expect(c.startupProbe.httpGet.path).toBe('/healthz');
      for (const p of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
        expect(c.ports.map((x: { name: string }) => x.name)).toContain(p.httpGet.port);
        paths.add(p.httpGet.path);
      }
    }
    for (const sm of of('ServiceMonitor')) for (const e of sm.spec.endpoints) paths.add(e.path);
    expect([...paths].sort()).toEqual(['/healthz', '/metrics', '/readyz']);
    for (const p of paths) {
      const r = await fetch(`${demo.origin}${p}`);
      expect(r.status, p).toBe(200);
    }
    expect((await fetch(`${demo.origin}/no-such-route`)).status).toBe(404); // the check can fail
  });

  it('Service, ServiceMonitor, PodDisruptionBudget and NetworkPolicy select every instance and expose only the listener', () => {
    const [svc] = of('Service');
    expect(svc?.metadata.name).toBe('switchyard'); // the scrape job the alert rules select
    expect(readFileSync(resolve(ROOT, 'deploy/prometheus-alerts.yaml'), 'utf8')).toContain(
      'job="switchyard"',
    );
    const listenPort = Number(
      String(runArgs(deployments[0] as K8sObject).values.get('listen')).split(':')[1],
    );
    expect(svc?.spec.ports).toEqual([
      { name: 'http-metrics', port: listenPort, targetPort: 'http-metrics', protocol: 'TCP' },
    ]);
    expect(svc?.spec.publishNotReadyAddresses).toBe(true);
    const sm = of('ServiceMonitor')[0];
    expect(selects(sm?.spec.selector.matchLabels, svc?.metadata.labels)).toBe(true);
    expect(sm?.spec.endpoints.map((e: { port: string }) => e.port)).toEqual(['http-metrics']);
    const pdb = of('PodDisruptionBudget')[0];
    expect(pdb?.spec.maxUnavailable).toBe(1);
    const np = of('NetworkPolicy')[0];
    expect(np?.spec.policyTypes).toEqual(['Ingress']);
    expect(np?.spec.ingress).toEqual([
      {
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
        ports: [{ port: 'http-metrics', protocol: 'TCP' }],
      },
    ]);
    for (const d of deployments) {
      const labels = podLabels(d);
      expect(selects(d.spec.selector.matchLabels, labels), d.metadata.name).toBe(true);
      for (const other of deployments)
        if (other !== d) expect(selects(d.spec.selector.matchLabels, podLabels(other))).toBe(false);
      expect(selects(svc?.spec.selector, labels), `Service selects ${d.metadata.name}`).toBe(true);
      expect(selects(pdb?.spec.selector.matchLabels, labels), `PDB selects ${d.metadata.name}`).toBe(true);
      expect(
        selects(np?.spec.podSelector.matchLabels, labels),
        `NetworkPolicy selects ${d.metadata.name}`,
      ).toBe(true);
      expect(of('ServiceAccount').map((s) => s.metadata.name)).toContain(
        d.spec.template.spec.serviceAccountName,
      );
    }
  });

  it('every file a configuration names is mounted from the object that holds it', () => {
    for (const d of deployments) {
      const mounted = mountedFiles(d);
      const { name, raw } = regionConfig(d);
      expect(mounted.get(String(runArgs(d).values.get('config')))).toEqual({
        kind: 'ConfigMap',
        name,
        key: 'switchyard.yaml',
      });
      const needed = [...filePaths(raw), ...secretRefs(raw).file];
      expect(needed.length).toBeGreaterThan(1);
      for (const f of needed) expect(mounted.has(f), `${d.metadata.name}: ${f} is not mounted`).toBe(true);
      for (const [, src] of mounted) {
        const defined = objects.some((o) => o.kind === src.kind && o.metadata.name === src.name);
        expect(defined || EXTERNAL[src.kind].includes(src.name), `${src.kind}/${src.name}`).toBe(true);
        if (src.kind === 'ConfigMap' && defined)
          expect(configMaps.find((c) => c.metadata.name === src.name)?.data?.[src.key]).toBeDefined();
      }
    }
  });

  it("secrets: env references come from the Secret by exactly the configuration's env: names, never inline", () => {
    for (const d of deployments) {
      const env = container(d).env as { name: string; value?: string; valueFrom?: any }[];
      const fromSecret = env.filter((e) => e.valueFrom?.secretKeyRef);
      const refs = secretRefs(regionConfig(d).raw);
      expect(fromSecret.map((e) => e.name).sort(), d.metadata.name).toEqual([...refs.env].sort());
      for (const e of fromSecret) expect(EXTERNAL.Secret).toContain(e.valueFrom.secretKeyRef.name);
      for (const e of env.filter((x) => x.value !== undefined))
        expect(e.name, 'a secret-like variable with an inline value').not.toMatch(/(PASSWORD|SECRET|TOKEN)$/);
      // The token the in-pod CLI uses is the file the daemon reads.
      const tokenFile = env.find((e) => e.name === 'SWITCHYARD_TOKEN_FILE')?.value;
      expect(`file:${tokenFile}`).toBe(regionConfig(d).raw.admin.token);
    }
  });

  it('docs/kubernetes.md creates every Secret key and external ConfigMap the manifests reference', () => {
    const doc = readFileSync(resolve(ROOT, 'docs/kubernetes.md'), 'utf8');
    const created = (what: string) =>
      new Set(
        // the command with its backslash-continued lines
        [...doc.matchAll(new RegExp(`create ${what}(?:[^\\n]*\\\\\\n)*[^\\n]*`, 'g'))].flatMap((m) =>
          [...m[0].matchAll(/--from-(?:file|literal)=([\w.-]+)=/g)].map((k) => k[1] as string),
        ),
      );
    const secretKeys = created('secret generic switchyard-secrets');
    const caKeys = created('configmap switchyard-ca');
    for (const d of deployments) {
      for (const e of container(d).env.filter((x: any) => x.valueFrom?.secretKeyRef))
        expect(secretKeys.has(e.valueFrom.secretKeyRef.key), e.valueFrom.secretKeyRef.key).toBe(true);
      for (const [, src] of mountedFiles(d)) {
        if (src.kind === 'Secret') expect(secretKeys.has(src.key), src.key).toBe(true);
        if (src.kind === 'ConfigMap' && src.name === 'switchyard-ca') expect(caKeys.has(src.key)).toBe(true);
      }
    }
  });

  it('matches the image: its user, a writable working directory, the package version, sane resources', () => {
    const dockerfile = readFileSync(resolve(ROOT, 'Dockerfile'), 'utf8');
    const uid = Number(/^USER (\d+)/m.exec(dockerfile)?.[1]);
    const workdir = [...dockerfile.matchAll(/^WORKDIR (\S+)/gm)].at(-1)?.[1];
    const version = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')).version as string;
    for (const d of deployments) {
      const pod = d.spec.template.spec;
      const c = container(d);
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(pod.securityContext.runAsUser).toBe(uid);
      expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
      const writable = c.volumeMounts
        .filter((m: { readOnly?: boolean }) => !m.readOnly)
        .map((m: any) => m.mountPath);
      expect(writable).toContain(workdir);
      expect(c.image).toMatch(new RegExp(`:${version.replace(/\./g, '\\.')}$`));
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(35); // 30 s action grace + 5 s close
      const mib = (q: string) => Number(/^(\d+)Mi$/.exec(q)?.[1]);
      expect(c.resources.requests.cpu).toBeDefined();
      expect(mib(c.resources.limits.memory)).toBeGreaterThanOrEqual(mib(c.resources.requests.memory));
      expect(mib(c.resources.requests.memory)).toBeGreaterThanOrEqual(128);
      expect(pod.automountServiceAccountToken ?? of('ServiceAccount')[0]?.automountServiceAccountToken).toBe(
        false,
      );
    }
  });
});
