import type { FailoverPreview } from '../server/admin.js';
import { formatBytes } from './output.js';
import { formatLag } from './status-format.js';

/** The failover plan as the operator reads it before confirming. Pure: no I/O. */
export function failoverPreviewText(p: FailoverPreview): string {
  const out: string[] = [];
  // The epoch changes only with a promotion: say "becomes" only when one is planned.
  const epoch =
    p.promotion && p.epoch !== p.epochNow
      ? `epoch ${p.epochNow} → ${p.epoch}`
      : `epoch stays ${p.epochNow}${p.promotion ? '' : ' (no promotion planned)'}`;
  out.push(`failover plan: ${p.from} → ${p.to}${p.force ? ' (FORCED)' : ''}, ${epoch}`);
  if (p.promotion) {
    const pr = p.promotion;
    out.push(`  promote ${p.to}: databases ${pr.databases.join(', ') || '(none)'}; fence ${p.from} first`);
    out.push(
      `  replica lag: ${formatLag(pr.lagSeconds, pr.lagBytes)} (bound ${pr.maxLagSeconds}s / ${formatBytes(pr.maxLagBytes)})`,
    );
    if (!pr.withinBound) {
      const lost =
        pr.lagSeconds === null && pr.lagBytes === null
          ? 'an unknown amount of'
          : `up to ${formatLag(pr.lagSeconds, pr.lagBytes)} of`;
      out.push(
        p.force
          ? `  WARNING: the lag is over the bound or unknown; writes committed on ${p.from} and not yet replicated — ${lost} data — will be lost`
          : `  the lag is over the bound or unknown: only --force goes ahead, losing ${lost} data`,
      );
    }
  } else if (p.blocked) {
    out.push(`  promotion of ${p.to} not possible now: ${p.blocked}`);
  } else {
    out.push(`  no database promotion needed: ${p.to}'s databases are already writable`);
  }
  out.push('  records:');
  if (p.records.length === 0)
    out.push(
      p.promotion || !p.blocked
        ? '    none change'
        : '    none would change now (management moves only after a verified promotion)',
    );
  for (const r of p.records) {
    const regions = [...new Set([...Object.keys(r.from), ...Object.keys(r.to)])];
    const moves = regions
      .filter((id) => r.from[id] !== r.to[id])
      .map((id) => `${id} ${r.from[id] ?? '-'}→${r.to[id] ?? '-'}`);
    out.push(`    ${r.name}: ${moves.join(', ') || 'unchanged'}`);
  }
  if (p.reasons.length > 0) {
    out.push('  reasons:');
    for (const r of p.reasons) out.push(`    - ${r}`);
  }
  if (p.blocked) out.push(`  BLOCKED: ${p.blocked}`);
  return `${out.join('\n')}\n`;
}
