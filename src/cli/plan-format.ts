import type { Plan } from '../decide/types.js';

/** The JSON shape `plan --json` prints (documented in the README; more fields may be added). */
export function planJson(plan: Plan): unknown {
  return {
    main: plan.main,
    epoch: plan.epoch,
    records: plan.records.map((r) => ({
      name: r.name,
      class: r.class,
      ...(r.home !== undefined ? { home: r.home } : {}),
      type: r.type,
      weights: r.weights,
      dependsOn: r.dependsOn,
      changed: r.changed,
      reason: r.reason,
    })),
    actions: plan.actions.map((a) => ({ ...a })),
    reasons: plan.reasons,
    alerts: plan.alerts,
    serving: plan.serving,
  };
}

/** Left-aligned columns; the widest cell sets each column's width. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** A readable plan: main and epoch, records × regions, actions, reasons. */
export function planText(plan: Plan): string {
  const regions = [...new Set(plan.records.flatMap((r) => Object.keys(r.weights)))].sort();
  const out: string[] = [];
  out.push(`main: ${plan.main}   epoch: ${plan.epoch}`);
  out.push('');
  out.push(
    table(
      ['record', 'class', 'home', ...regions, 'waits for', 'change'],
      plan.records.map((r) => [
        r.name,
        r.class,
        r.home ?? '',
        // As in `status`: "-" = the record has no target in that region.
        ...regions.map((id) => (r.weights[id] === undefined ? '-' : String(r.weights[id]))),
        r.dependsOn.join(','),
        r.changed ? 'changed' : '',
      ]),
    ),
  );
  out.push(
    "- = no target in that region; blank = none; change = differs from the scenario's state (state.weights, or what its main and state.out imply)",
  );
  out.push('');
  out.push('actions:');
  if (plan.actions.length === 0) out.push('  none');
  for (const a of plan.actions)
    out.push(
      a.type === 'promote'
        ? `  promote ${a.region} (from ${a.from}, epoch ${a.epoch}${a.force ? ', FORCED' : ''}${a.resume ? ', resumed' : ''}) — ${a.reason}`
        : `  fence ${a.region} ${a.databases.join(', ')} — ${a.reason}`,
    );
  if (plan.alerts.length) {
    out.push('');
    out.push('alerts:');
    for (const a of plan.alerts) out.push(`  [${a.kind}] ${a.message}`);
  }
  out.push('');
  out.push('reasons:');
  if (plan.reasons.length === 0) out.push('  everything healthy; nothing to change');
  for (const r of plan.reasons) out.push(`  - ${r}`);
  return `${out.join('\n')}\n`;
}
