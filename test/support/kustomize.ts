import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

/**
 * The subset of kustomize deploy/kubernetes uses — `resources` (files and directories),
 * `configMapGenerator` with `files`, `namespace` — rendered without kustomize (not installable
 * here). A kustomization using anything else fails the render, so the checks can never silently
 * skip a transformation they do not model. Generated ConfigMaps keep their base name: kustomize
 * appends a content hash and rewrites every reference to it, so checking the references against
 * the base name checks what kustomize produces.
 */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: any; // manifests are free-form; the tests navigate them
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  automountServiceAccountToken?: boolean;
  /** Which file it came from, relative to the repository, for messages. */
  source: string;
}

const SUPPORTED = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'configMapGenerator']);

export interface Rendered {
  objects: K8sObject[];
  /** Every file the render read (kustomizations, resources, generator inputs). */
  files: Set<string>;
}

export function renderKustomization(dir: string, root: string, files = new Set<string>()): Rendered {
  const path = join(dir, 'kustomization.yaml');
  files.add(path);
  const k = parseAllDocuments(readFileSync(path, 'utf8'))[0]?.toJS() as {
    namespace?: string;
    resources?: string[];
    configMapGenerator?: { name: string; files?: string[]; literals?: string[]; behavior?: string }[];
  };
  for (const key of Object.keys(k))
    if (!SUPPORTED.has(key)) throw new Error(`${path}: unsupported key ${key}`);
  const objects: K8sObject[] = [];
  for (const r of k.resources ?? []) {
    const p = resolve(dir, r);
    if (!existsSync(p)) throw new Error(`${path}: resource ${r} does not exist`);
    if (statSync(p).isDirectory()) objects.push(...renderKustomization(p, root, files).objects);
    else {
      files.add(p);
      for (const doc of parseAllDocuments(readFileSync(p, 'utf8'))) {
        if (doc.errors.length) throw new Error(`${p}: ${doc.errors[0]?.message}`);
        const o = doc.toJS() as K8sObject | null;
        if (o) objects.push({ ...o, source: relative(root, p) });
      }
    }
  }
  for (const g of k.configMapGenerator ?? []) {
    if (g.literals || g.behavior)
      throw new Error(`${path}: configMapGenerator ${g.name}: only files are modelled`);
    const data: Record<string, string> = {};
    for (const f of g.files ?? []) {
      const [key, file] = f.includes('=')
        ? (f.split('=', 2) as [string, string])
        : [f.split('/').at(-1) ?? f, f];
      const p = resolve(dir, file);
      files.add(p);
      data[key] = readFileSync(p, 'utf8');
    }
    objects.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: g.name },
      data,
      source: relative(root, path),
    });
  }
  if (k.namespace)
    for (const o of objects) o.metadata = { ...o.metadata, namespace: o.metadata.namespace ?? k.namespace };
  return { objects, files };
}

/** Does a label selector (matchLabels) select these labels? */
export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> = {},
): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}
