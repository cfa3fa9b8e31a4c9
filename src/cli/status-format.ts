import type { ComponentStatus, StatusDocument } from '../server/status.js';
import { formatAge, formatBytes, type Painter, renderTable } from './output.js';

/** The readable form of a status document, as `switchyard status` prints it. Pure: no I/O. */
export function statusText(doc: StatusDocument, paint: Painter = (t) => t): string {
  const now = Date.parse(doc.generatedAt);
  const age = (iso: string | null) => (iso ? formatAge(now - Date.parse(iso)) : '-');
  const out: string[] = [];

  const ready = doc.director.ready
    ? 'ready'
    : paint(`not ready (${doc.director.readyReason ?? 'starting'})`, 'yellow');
  out.push(
    `${paint('switchyard', 'bold')} ${doc.director.id}: main ${paint(doc.main, 'bold')}, epoch ${doc.epoch}, ${ready}`,
  );
  const coord = doc.coordination;
  if (coord && coord.role !== 'standalone') {
    const l = doc.leader;
    const leader = l
      ? `leader ${paint(l.id, 'bold')}${l.region ? ` (${l.region})` : ''}${l.self ? ` — this instance, lease ${formatAge(l.leaseTimeLeftMs ?? 0)} left` : ''}`
      : paint('no leader: nobody acts', 'red');
    const role = coord.role === 'unavailable' ? paint('etcd NOT reachable', 'red') : coord.role;
    out.push(
      `coordination: ${role}; ${leader}; quorum ${coord.quorum ?? '-'} of ${doc.observers.filter((o) => o.fresh).length} live observers in ${coord.observerRegions} region(s)` +
        (coord.observerRegions < 3 ? paint(' (automatic promotion needs 3)', 'yellow') : ''),
    );
  }
  const o = doc.overrides;
  const routes = Object.entries(o.routes).map(([k, r]) => `${k}→${r}`);
  out.push(
    `overrides: ${o.frozen ? paint('FROZEN', 'yellow') : 'not frozen'}; drained: ${o.drained.join(', ') || 'none'}` +
      `; forced routes: ${routes.join(', ') || 'none'}` +
      (o.failover ? `; failover requested to ${o.failover.to}${o.failover.force ? ' (forced)' : ''}` : ''),
  );
  // Who set each override, when and why (older state files have no notes).
  for (const a of doc.activeOverrides ?? []) {
    if (a.kind === 'route' || a.kind === 'maintenance') continue;
    const what = a.kind === 'freeze' ? 'frozen' : `${a.target} drained`;
    out.push(
      `  ${what}${a.by ? ` by ${a.by}` : ''}${a.at ? ` ${age(a.at)} ago` : ''}${a.reason ? `: ${a.reason}` : a.by ? ' (no reason given)' : ''}`,
    );
  }
  if (doc.promotion) {
    const p = doc.promotion;
    out.push(
      paint(
        `promotion in progress: ${p.from} → ${p.to}, epoch ${p.epoch}, started ${age(p.startedAt)} ago${p.force ? ', forced' : ''}`,
        'yellow',
      ),
    );
  }
  out.push('');

  // Regions × components: one column per component name seen anywhere.
  const names: string[] = [];
  for (const r of doc.regions) for (const c of r.components) if (!names.includes(c.name)) names.push(c.name);
  const cell = (c: ComponentStatus | undefined) => {
    if (!c) return '-';
    const colour = c.status === 'up' ? 'green' : c.status === 'down' ? 'red' : 'yellow';
    const extra: string[] = [];
    if (c.role)
      extra.push(c.role === 'primary' ? (c.writable === false ? 'primary ro' : 'primary') : 'replica');
    if (typeof c.lagSeconds === 'number') extra.push(`lag ${c.lagSeconds}s`);
    return `${paint(c.status, colour)} ${age(c.since)}${extra.length ? ` (${extra.join(', ')})` : ''}`;
  };
  const yes = (b: boolean) => (b ? 'yes' : paint('no', 'dim'));
  const current = (r: (typeof doc.regions)[number]) => {
    const c = r.currentRole ?? (r.isMain ? 'main' : r.role === 'edge' ? 'edge' : 'replica');
    const text = c === 'fenced-old-main' ? 'old main (fenced)' : c;
    return c === 'split-brain'
      ? paint(text, 'red')
      : c === 'fenced-old-main' || c === 'detached'
        ? paint(text, 'yellow')
        : text;
  };
  const noteOf = (r: (typeof doc.regions)[number]) => {
    const notes = [r.drained ? 'drained' : '', r.inMaintenance ? 'maintenance' : ''];
    // Traffic still sent to a region with a component down: the weights are held (frozen, last good).
    const down = r.components.some((c) => c.kind !== 'database' && c.status === 'down');
    if (down && (r.serving.api || r.serving.auth)) notes.push(paint('served while down', 'red'));
    if (r.currentRole === 'fenced-old-main' || r.currentRole === 'detached') notes.push('awaiting rebuild');
    return notes.filter(Boolean).join(', ');
  };
  out.push(
    renderTable(
      ['region', 'configured', 'current', ...names, 'api', 'auth', 'mgmt', 'notes'],
      doc.regions.map((r) => [
        r.isMain ? `${r.id} *` : r.id,
        r.configuredRole ?? r.role,
        current(r),
        ...names.map((n) => cell(r.components.find((c) => c.name === n))),
        yes(r.serving.api),
        yes(r.serving.auth),
        yes(r.serving.management),
        noteOf(r),
      ]),
    ),
  );
  out.push(
    '* = current main; times are how long each state has lasted; api/auth/mgmt: DNS sends it that traffic (weights applied)',
  );
  for (const r of doc.regions) if (r.currentRoleDetail) out.push(`  ${r.id}: ${r.currentRoleDetail}`);
  out.push('');

  // With several observers: each one's view of every component, beside the quorum's above.
  if (doc.observers && doc.observers.length > 0) {
    const keys: string[] = [];
    for (const o of doc.observers)
      for (const [region, comps] of Object.entries(o.view))
        for (const comp of Object.keys(comps))
          if (!keys.includes(`${region}.${comp}`)) keys.push(`${region}.${comp}`);
    keys.sort();
    const vote = (v: 'up' | 'down' | 'unknown' | undefined) =>
      v === undefined ? '-' : paint(v, v === 'up' ? 'green' : v === 'down' ? 'red' : 'yellow');
    out.push(
      renderTable(
        ['observer', 'region', 'counted', ...keys],
        doc.observers.map((o) => [
          o.id,
          o.region ?? '-',
          o.discounted ? paint('discounted', 'red') : o.fresh ? 'yes' : paint('stale', 'yellow'),
          ...keys.map((k) => {
            const [region, ...rest] = k.split('.');
            return vote(o.view[region as string]?.[rest.join('.')]);
          }),
        ]),
      ),
    );
    for (const o of doc.observers) if (o.reason) out.push(`  ${o.id}: ${o.reason}`);
    out.push('');
  }

  // Records × regions: the weights last written.
  const regionIds = doc.regions.map((r) => r.id);
  out.push(
    renderTable(
      ['record', 'class', ...regionIds],
      doc.records.map((rec) => [
        `${rec.name} ${rec.type}`,
        rec.class,
        ...regionIds.map((id) => (rec.weights[id] === undefined ? '-' : String(rec.weights[id]))),
      ]),
    ),
  );

  const dns = doc.dns;
  const since = (iso: string | null | undefined, never: string) => (iso ? `${age(iso)} ago` : never);
  out.push(
    `dns: ${dns.provider}${dns.dryRun ? ' (dry run)' : ''}, last change ${since(dns.lastChangeAt, 'none since start')}, last read ${since(dns.lastReadAt, 'never')}` +
      (dns.failing
        ? paint(`, FAILING${dns.lastError ? `: ${dns.lastError}` : ''}`, 'red')
        : dns.lastApplyOk === false
          ? ', last apply failed'
          : ''),
  );
  out.push('');

  out.push(doc.alerts.length === 0 ? 'alerts: none' : 'alerts:');
  for (const a of doc.alerts) out.push(`  ${paint(`[${a.kind}]`, 'red')} ${a.subject}: ${a.message}`);
  out.push('');

  const audit = (doc.journal ?? []).filter((e) => e.action === 'override').slice(0, 5);
  if (audit.length > 0) {
    out.push('last operator requests:');
    for (const e of audit) out.push(`  ${e.at} ${e.detail}`);
    out.push('');
  }

  out.push(doc.decisions.length === 0 ? 'last decisions: none yet' : 'last decisions:');
  for (const d of doc.decisions) {
    out.push(`  ${d.at}${d.changed ? '' : ' (no change)'}`);
    for (const r of d.reasons) out.push(`    - ${r}`);
    for (const a of d.actions) out.push(`    → ${a}`);
  }
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n')}\n`;
}

/** Used by the failover preview. */
export function formatLag(seconds: number | null, bytes: number | null): string {
  if (seconds === null && bytes === null) return 'unknown';
  return [seconds === null ? null : `${seconds}s`, bytes === null ? null : formatBytes(bytes)]
    .filter(Boolean)
    .join(' / ');
}
