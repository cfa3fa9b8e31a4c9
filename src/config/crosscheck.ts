import { formatDuration } from '../util/duration.js';
import type { CheckConfig, Config } from './schema.js';

export interface Finding {
  path: string;
  message: string;
}

/**
 * The parts of a document that failed the schema, as paths (`regions.r1.databases.apim.engine`).
 * When the schema fails, the cross-checks still run on what did parse (see load.ts), and each rule
 * first asks whether the values it reads are known: a rule never reports a consequence of a
 * mistake the schema already named.
 */
export class Gaps {
  static readonly none = new Gaps([]);
  private readonly paths: readonly string[];
  constructor(paths: Iterable<string>) {
    this.paths = [...new Set(paths)];
  }
  get size(): number {
    return this.paths.length;
  }
  /** The value at `path` is not known: it, or something containing it, failed the schema. */
  unknown(...paths: string[]): boolean {
    return paths.some((p) =>
      this.paths.some((g) => p === g || p.startsWith(`${g}.`) || p.startsWith(`${g}[`)),
    );
  }
  /** Something at or below `path` failed: a listing or a count there may be incomplete. */
  partial(path: string): boolean {
    return this.unknown(path) || this.paths.some((g) => g.startsWith(`${path}.`) || g.startsWith(`${path}[`));
  }
  /**
   * An entry of the map at `path` failed as a whole (a bad key, or a value that is not an
   * object): the entries present are not all there are.
   */
  lostEntry(path: string, present: readonly string[]): boolean {
    const keys = new Set(present);
    return this.paths.some((g) => {
      if (!g.startsWith(`${path}.`)) return false;
      const key = /^[^.[]*/.exec(g.slice(path.length + 1))?.[0] ?? '';
      return !keys.has(key);
    });
  }
}

/**
 * Rules that span several parts of the file and that a schema cannot express. Errors make the
 * configuration unusable; warnings are printed by `validate` but do not fail it. With `gaps`
 * (the schema failed elsewhere) `config` is what could be parsed: a value under a gap may be
 * missing, so every rule checks the paths it reads first.
 */
export function crossCheck(
  config: Config,
  gaps: Gaps = Gaps.none,
): { errors: Finding[]; warnings: Finding[] } {
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  const err = (path: string, message: string) => errors.push({ path, message });
  const warn = (path: string, message: string) => warnings.push({ path, message });
  const known = (...paths: string[]) => !gaps.unknown(...paths);
  const complete = (path: string) => !gaps.partial(path);

  const regionMap = config.regions ?? {};
  const regions = Object.entries(regionMap);
  /** Every region of the file is here (some may have parts that failed). */
  const regionsWhole = !gaps.unknown('regions') && !gaps.lostEntry('regions', Object.keys(regionMap));
  const roleKnown = (id: string) => known(`regions.${id}`, `regions.${id}.role`);
  const allRolesKnown = regionsWhole && regions.every(([id]) => roleKnown(id));
  /** True/false when it is known whether the region exists, undefined when it may be one that failed. */
  const regionExists = (id: string): boolean | undefined =>
    regionMap[id] !== undefined
      ? true
      : gaps.partial(`regions.${id}`) || gaps.unknown('regions')
        ? undefined
        : false;
  if (regionsWhole && regions.length === 0) err('regions', 'at least one region is needed');
  const mains = regions.filter(([id, r]) => roleKnown(id) && r.role === 'main').map(([id]) => id);
  if (mains.length > 1 || (mains.length === 0 && allRolesKnown))
    err(
      'regions',
      `exactly one region must have role "main" (found ${mains.length}${mains.length ? `: ${mains.join(', ')}` : ''})`,
    );
  const main = mains.length === 1 && allRolesKnown ? mains[0] : undefined;
  const mainDbs = main ? (regionMap[main]?.databases ?? {}) : {};
  const mainDbsComplete = main !== undefined && complete(`regions.${main}.databases`);
  /** True/false when the region's role is known, undefined when it is not (or the region failed). */
  const isCore = (id: string): boolean | undefined => {
    if (!roleKnown(id)) return undefined;
    const role = regionMap[id]?.role;
    return role === 'main' || role === 'failover';
  };

  for (const [id, r] of regions) {
    const at = `regions.${id}`;
    if (!known(at)) continue;
    if (known(`${at}.gateway`) && !r.gateway)
      err(`${at}.gateway`, 'every region serves API traffic and needs a gateway');
    if (roleKnown(id)) {
      if (r.role === 'edge') {
        if (r.keyManager)
          err(
            `${at}.keyManager`,
            'edge regions have gateways only; auth goes to the main or failover region',
          );
        if (r.databases) err(`${at}.databases`, 'edge regions have no databases');
      } else {
        if (known(`${at}.keyManager`) && !r.keyManager)
          err(`${at}.keyManager`, `a ${r.role} region has every component, including a key manager`);
        if (complete(`${at}.databases`) && (!r.databases || Object.keys(r.databases).length === 0))
          err(
            `${at}.databases`,
            `a ${r.role} region needs its databases (the main's primaries or their replicas)`,
          );
      }
    }
    if (roleKnown(id) && r.role === 'failover' && main) {
      for (const [key, db] of Object.entries(mainDbs)) {
        const replica = r.databases?.[key];
        if (!replica) {
          if (complete(`${at}.databases`))
            err(`${at}.databases`, `missing a replica of the main region's database "${key}"`);
        } else if (
          known(`${at}.databases.${key}.engine`, `regions.${main}.databases.${key}.engine`) &&
          engineFamily(replica.engine) !== engineFamily(db.engine)
        )
          err(
            `${at}.databases.${key}.engine`,
            `"${replica.engine}" cannot replicate the main's "${db.engine}"`,
          );
      }
      if (mainDbsComplete)
        for (const key of Object.keys(r.databases ?? {}))
          if (!(key in mainDbs))
            err(`${at}.databases.${key}`, `the main region "${main}" has no database "${key}" to replicate`);
    }
    for (const [kind, comp] of [
      ['gateway', r.gateway],
      ['keyManager', r.keyManager],
    ] as const) {
      const cp = `${at}.${kind}`;
      if (!comp || !known(cp)) continue;
      const checks: (CheckConfig | undefined)[] = comp.checks ?? [];
      if (known(`${cp}.minHealthy`) && complete(`${cp}.checks`) && comp.minHealthy > checks.length)
        err(`${cp}.minHealthy`, `${comp.minHealthy} exceeds the number of checks (${checks.length})`);
      const seen = new Set<string>();
      checks.forEach((c, i) => {
        const p = `${cp}.checks[${i}]`;
        if (c && known(`${p}.name`) && c.name !== undefined) {
          if (seen.has(c.name)) err(`${p}.name`, `duplicate check name "${c.name}"`);
          seen.add(c.name);
        }
      });
    }
    // Fallbacks name existing main/failover regions other than this one.
    const fb = r.failover;
    if (fb && known(`${at}.failover`)) {
      const refs: [string, string][] = Array.isArray(fb)
        ? fb.map((t, i) => [`${at}.failover[${i}]`, t])
        : Object.keys(fb.split).map((t) => [`${at}.failover.split.${t}`, t]);
      const seen = new Set<string>();
      for (const [p, t] of refs) {
        if (!regionMap[t]) {
          if (regionExists(t) === false) err(p, `unknown region "${t}"`);
        } else if (t === id) err(p, 'a region cannot fail over to itself');
        else if (isCore(t) === false)
          err(p, `"${t}" is an edge region; traffic fails over only to the main or a failover region`);
        if (seen.has(t)) err(p, `"${t}" is listed twice`);
        seen.add(t);
      }
    }
  }

  probeTimingChecks(config, gaps, err, warn);

  // Records.
  // An element that failed as a whole is a hole (undefined), so indices stay those of the file.
  const records: (Config['records'][number] | undefined)[] = config.records ?? [];
  const recordsComplete = complete('records');
  const names = new Map<string, number>();
  const identifiers = new Map<string, string>();
  records.forEach((rec, i) => {
    const at = `records[${i}]`;
    if (!rec || !known(at)) return;
    const nameKnown = known(`${at}.name`, `${at}.type`) && rec.name !== undefined;
    const key = nameKnown ? `${rec.name.toLowerCase().replace(/\.$/, '')}/${rec.type}` : undefined;
    if (key !== undefined) {
      const prev = names.get(key);
      if (prev !== undefined)
        err(`${at}.name`, `"${rec.name}" (${rec.type}) is already defined at records[${prev}]`);
      names.set(key, i);
    }
    const classKnown = known(`${at}.class`) && rec.class !== undefined;
    const homeKnown = known(`${at}.home`);
    if (homeKnown && rec.home !== undefined && regionExists(rec.home) === false)
      err(`${at}.home`, `unknown region "${rec.home}"`);
    if (classKnown && homeKnown && rec.class === 'management' && rec.home !== undefined)
      err(`${at}.home`, 'management records have no home: they always point at the current main');
    const targets = rec.targets ?? {};
    const targetsComplete = complete(`${at}.targets`);
    if (
      classKnown &&
      homeKnown &&
      targetsComplete &&
      rec.class === 'api' &&
      rec.home !== undefined &&
      !targets[rec.home]
    )
      err(`${at}.targets`, `an api record needs a target in its home region "${rec.home}"`);
    const targetIds = Object.keys(targets);
    if (targetsComplete && targetIds.length === 0) err(`${at}.targets`, 'a record needs at least one target');
    for (const t of targetIds) {
      const region = regionMap[t];
      const tp = `${at}.targets.${t}`;
      if (!region) {
        if (regionExists(t) === false) err(tp, `unknown region "${t}"`);
        continue;
      }
      if (classKnown && rec.class === 'auth' && known(`regions.${t}.keyManager`) && !region.keyManager)
        err(tp, `region "${t}" has no key manager to serve auth`);
      if (classKnown && rec.class === 'management' && isCore(t) === false)
        err(tp, `management can only be served by the main or a failover region`);
      const target = targets[t];
      if (!target || !known(tp)) continue;
      if (target.values && known(`${tp}.values`) && known(`${at}.type`)) {
        for (const [j, v] of target.values.entries()) {
          const bad = valueProblem(rec.type, v);
          if (bad) err(`${tp}.values[${j}]`, bad);
        }
        if (rec.type === 'CNAME' && target.values.length !== 1)
          err(`${tp}.values`, 'a CNAME has exactly one value');
      }
      if (key !== undefined && known(`${tp}.setIdentifier`)) {
        const sid = target.setIdentifier ?? t;
        const sidKey = `${key}/${sid}`;
        if (identifiers.has(sidKey))
          err(`${tp}.setIdentifier`, `set identifier "${sid}" is used twice in "${rec.name}"`);
        identifiers.set(sidKey, tp);
      }
    }
    if (classKnown && rec.class === 'management' && targetsComplete && allRolesKnown) {
      for (const [id, r] of regions)
        if ((r.role === 'main' || r.role === 'failover') && !targets[id])
          err(
            `${at}.targets`,
            `management needs a target in "${id}" (${r.role}) so that it can follow a promotion`,
          );
    }
    if (known(`${at}.ttl`) && rec.ttl > 5 * 60_000)
      warn(
        `${at}.ttl`,
        `a TTL of ${formatDuration(rec.ttl)}: after a failover, resolvers may keep sending clients to the lost region that long`,
      );
  });

  const classesKnown = recordsComplete && records.every((_, i) => known(`records[${i}].class`));
  if (classesKnown && records.length > 0 && !records.some((r) => r?.class === 'management'))
    warn('records', 'no management record: management writes will not be routed');
  if (classesKnown && regionsWhole && records.every((_, i) => known(`records[${i}].home`)))
    for (const [id] of regions)
      if (!records.some((r) => r?.class === 'api' && r.home === id))
        warn(
          'records',
          `region "${id}" has no api record with home "${id}"; its clients have no local entry name`,
        );
  if (allRolesKnown && regions.length > 0 && !regions.some(([, r]) => r.role === 'failover'))
    warn(
      'regions',
      'no failover region: losing the main region leaves management and promotion nowhere to go',
    );

  // Safety rule 6: two sites cannot tell an outage from a partition.
  const promotion = config.policy?.promotion;
  if (known('policy.promotion.mode') && promotion?.mode === 'automatic') {
    if (regionsWhole && regions.length < 3)
      err(
        'policy.promotion.mode',
        'automatic promotion needs at least three regions (the edges act as witnesses); with fewer, use "manual"',
      );
    else if (regions.length >= 3 && known('director.observers') && config.director.observers < 3)
      warn(
        'policy.promotion.mode',
        `automatic promotion with ${config.director.observers} observer(s): a partition between this director and the main region looks like an outage. Run observers in three regions or use "manual"`,
      );
  }
  if (known('dns.provider', 'dns.route53') && config.dns?.provider === 'route53' && !config.dns.route53)
    err('dns.route53', 'provider "route53" needs a dns.route53 section (hostedZoneId at least)');
  const r53 = config.dns?.route53;
  if (
    r53 &&
    known('dns.route53.pollInterval', 'dns.route53.syncTimeout') &&
    r53.syncTimeout <= r53.pollInterval
  )
    warn(
      'dns.route53.syncTimeout',
      `${formatDuration(r53.syncTimeout)} is not longer than pollInterval (${formatDuration(r53.pollInterval)}): propagation is checked at most once`,
    );
  if (known('state.store') && config.state?.store === 'etcd')
    err(
      'state.store',
      '"etcd" (several directors with leader election) is not available in this version; use "file"',
    );
  const windows: (Config['maintenance'][number] | undefined)[] = config.maintenance ?? [];
  windows.forEach((m, i) => {
    const at = `maintenance[${i}]`;
    if (!m || !known(at)) return;
    if (known(`${at}.region`) && m.region !== undefined && regionExists(m.region) === false)
      err(`${at}.region`, `unknown region "${m.region}"`);
    if (known(`${at}.cron`) && m.cron !== undefined) {
      const fields = m.cron.trim().split(/\s+/).length;
      if (fields < 5 || fields > 6)
        err(`${at}.cron`, `"${m.cron}" is not a cron expression of 5 or 6 fields`);
    }
  });
  policyChecks(config, gaps, regions.length, regionsWhole, warn);

  return { errors, warnings };
}

type Report = (path: string, message: string) => void;

interface TargetTiming {
  path: string;
  interval: number;
  timeout: number;
  fall: number;
  /** Where the interval and timeout come from, for the gap check. */
  reads: string[];
}

/** Every probe target with its effective timing (its own, or the `probes` defaults). */
function probeTargets(config: Config): TargetTiming[] {
  const d = config.probes;
  const out: TargetTiming[] = [];
  for (const [id, r] of Object.entries(config.regions ?? {})) {
    for (const kind of ['gateway', 'keyManager'] as const) {
      const checks: (CheckConfig | undefined)[] = r[kind]?.checks ?? [];
      checks.forEach((c, i) => {
        if (c) out.push(timing(`regions.${id}.${kind}.checks[${i}]`, c, d));
      });
    }
    for (const [key, db] of Object.entries(r.databases ?? {}))
      out.push(timing(`regions.${id}.databases.${key}`, db, d));
  }
  return out;
}

function timing(
  path: string,
  own: { interval?: number | undefined; timeout?: number | undefined; fall?: number | undefined },
  d: Config['probes'],
): TargetTiming {
  return {
    path,
    interval: own.interval ?? d.interval,
    timeout: own.timeout ?? d.timeout,
    fall: own.fall ?? d.fall,
    reads: [
      path,
      own.interval === undefined ? 'probes.interval' : `${path}.interval`,
      own.timeout === undefined ? 'probes.timeout' : `${path}.timeout`,
    ],
  };
}

/**
 * Probe timing against itself and against staleAfter: a timeout not shorter than the interval
 * overlaps runs; a staleAfter not longer than the longest gap between two results of a target
 * (interval × (1 + jitter) + timeout) makes that target's evidence unknown between probes, so it
 * never moves traffic, whatever happens to it.
 */
function probeTimingChecks(config: Config, gaps: Gaps, err: Report, warn: Report): void {
  if (gaps.unknown('probes')) return;
  const targets = probeTargets(config);
  for (const t of targets) {
    if (gaps.unknown(...t.reads)) continue;
    if (t.timeout >= t.interval)
      err(
        t.path,
        `timeout (${formatDuration(t.timeout)}) must be shorter than the interval (${formatDuration(t.interval)})`,
      );
  }
  const jitter = config.probes.jitter;
  if (!gaps.unknown('probes.jitter') && jitter > 0.5)
    warn(
      'probes.jitter',
      `${jitter}: a gap between two probes varies from ${Math.round((1 - jitter) * 100)}% to ${Math.round((1 + jitter) * 100)}% of the interval; probes bunch up and leave long holes`,
    );
  if (gaps.unknown('policy.staleAfter', 'probes.jitter')) return;
  const staleAfter = config.policy.staleAfter;
  const gapOf = (t: TargetTiming) => Math.round(t.interval * (1 + jitter) + t.timeout);
  let worst: TargetTiming | undefined;
  for (const t of targets) if (!gaps.unknown(...t.reads) && (!worst || gapOf(t) > gapOf(worst))) worst = t;
  if (!worst) return;
  const gap = gapOf(worst);
  const why = `${worst.path} (interval ${formatDuration(worst.interval)} × (1 + jitter ${jitter}) + timeout ${formatDuration(worst.timeout)} = ${formatDuration(gap)})`;
  if (staleAfter <= gap)
    err(
      'policy.staleAfter',
      `${formatDuration(staleAfter)} is not longer than the longest gap between two results of a target, ${why}: its evidence would turn unknown between probes, and unknown evidence never moves traffic`,
    );
  else if (staleAfter < gap + worst.interval)
    warn(
      'policy.staleAfter',
      `${formatDuration(staleAfter)} leaves less than one interval to spare after the longest gap between two results, ${why}: one late result makes the evidence unknown`,
    );
}

/** Hold-downs, promotion and the panic guard, against each other and the number of regions. */
function policyChecks(
  config: Config,
  gaps: Gaps,
  regionCount: number,
  regionsComplete: boolean,
  warn: Report,
) {
  const p = config.policy;
  if (!p || gaps.unknown('policy')) return;
  if (!gaps.unknown('policy.recoverAfter', 'policy.failAfter') && p.recoverAfter < p.failAfter)
    warn(
      'policy.recoverAfter',
      `recoverAfter (${formatDuration(p.recoverAfter)}) is shorter than failAfter (${formatDuration(p.failAfter)}): a flapping region will move traffic often`,
    );
  if (!gaps.unknown('policy.panicThreshold')) {
    if (regionsComplete && regionCount > 0 && p.panicThreshold < 1 / regionCount)
      warn(
        'policy.panicThreshold',
        `${p.panicThreshold} is below 1/${regionCount} regions: a single region looking down trips the panic guard, and no traffic ever moves away from it`,
      );
    if (p.panicThreshold >= 1)
      warn(
        'policy.panicThreshold',
        '1: the panic guard never trips, even when every region looks down at once',
      );
  }
  const promoteAfter = p.promotion?.promoteAfter;
  if (promoteAfter === undefined || gaps.unknown('policy.promotion.promoteAfter')) return;
  if (!gaps.unknown('policy.failAfter') && promoteAfter < p.failAfter)
    warn(
      'policy.promotion.promoteAfter',
      `promoteAfter (${formatDuration(promoteAfter)}) is shorter than failAfter (${formatDuration(p.failAfter)}): a promotion would rest on weaker evidence than moving traffic does`,
    );
  const main = Object.entries(config.regions ?? {}).find(([, r]) => r.role === 'main')?.[0];
  if (!main || gaps.unknown('probes')) return;
  const detect = probeTargets(config)
    .filter(
      (t) => t.path.startsWith(`regions.${main}.databases.`) && !gaps.unknown(...t.reads, `${t.path}.fall`),
    )
    .map((t) => ({ t, ms: t.fall * t.interval }))
    .sort((a, b) => b.ms - a.ms)[0];
  if (detect && promoteAfter < detect.ms)
    warn(
      'policy.promotion.promoteAfter',
      `promoteAfter (${formatDuration(promoteAfter)}) is shorter than fall × interval of ${detect.t.path} (${detect.t.fall} × ${formatDuration(detect.t.interval)} = ${formatDuration(detect.ms)}): a promotion may follow a database outage no longer than a few lost probes`,
    );
}

function engineFamily(engine: string): string {
  return engine === 'postgres' ? 'postgres' : 'mysql';
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
function valueProblem(type: 'A' | 'AAAA' | 'CNAME', v: string): string | undefined {
  if (type === 'A' && !IPV4.test(v)) return `"${v}" is not an IPv4 address`;
  if (type === 'AAAA' && (!v.includes(':') || !/^[0-9a-fA-F:.]+$/.test(v)))
    return `"${v}" is not an IPv6 address`;
  if (type === 'CNAME' && !/^[A-Za-z0-9_.-]+$/.test(v)) return `"${v}" is not a host name`;
  return undefined;
}
