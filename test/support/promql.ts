/**
 * Just enough PromQL reading to find the metric names an expression selects: string literals,
 * label matchers, ranges and label lists (by/without/on/ignoring/group_*) are dropped, function
 * names and keywords are skipped; every identifier left is a metric name.
 */
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'and',
  'or',
  'unless',
  'atan2',
  'inf',
  'nan',
  'start',
  'end',
]);

/** Grafana's variables → plausible values, so the expression is plain PromQL. */
export function substituteGrafanaVariables(expr: string): string {
  return expr
    .replace(/\$__(rate_interval|interval|range)\b/g, '5m')
    .replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, '.+');
}

export function metricNames(expr: string): string[] {
  let s = substituteGrafanaVariables(expr);
  s = s.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  s = s.replace(/\{[^}]*\}/g, ' ');
  s = s.replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  const token = /(\d+(?:\.\d+)?(?:e[+-]?\d+)?[a-z]*)|([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g;
  for (const m of s.matchAll(token)) {
    const [, num, ident, call] = m;
    if (num !== undefined || ident === undefined) continue;
    if (call !== undefined || KEYWORDS.has(ident.toLowerCase())) continue;
    names.add(ident);
  }
  return [...names];
}

/** The names a Prometheus exposition declares (`# TYPE`), with the series names each type implies. */
export function exportedSeries(exposition: string): Set<string> {
  const out = new Set<string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m;
    if (!name) continue;
    out.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) out.add(name + s);
  }
  return out;
}
