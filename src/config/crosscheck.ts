import type { Config } from './schema.js';

export interface Finding {
  path: string;
  message: string;
}

/**
 * Rules that span several parts of the file and that a schema cannot express. Errors make the
 * configuration unusable; warnings are printed by `validate` but do not fail it.
 */
export function crossCheck(config: Config): { errors: Finding[]; warnings: Finding[] } {
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  const err = (path: string, message: string) => errors.push({ path, message });
  const warn = (path: string, message: string) => warnings.push({ path, message });

  const regions = Object.entries(config.regions);
  if (regions.length === 0) err('regions', 'at least one region is needed');
  const mains = regions.filter(([, r]) => r.role === 'main').map(([id]) => id);
  if (mains.length !== 1)
    err(
      'regions',
      `exactly one region must have role "main" (found ${mains.length}${mains.length ? `: ${mains.join(', ')}` : ''})`,
    );
  const main = mains[0];
  const mainDbs = main ? (config.regions[main]?.databases ?? {}) : {};
  const isCore = (id: string) => {
    const role = config.regions[id]?.role;
    return role === 'main' || role === 'failover';
  };

  for (const [id, r] of regions) {
    const at = `regions.${id}`;
    if (!r.gateway) err(`${at}.gateway`, 'every region serves API traffic and needs a gateway');
    if (r.role === 'edge') {
      if (r.keyManager)
        err(`${at}.keyManager`, 'edge regions have gateways only; auth goes to the main or failover region');
      if (r.databases) err(`${at}.databases`, 'edge regions have no databases');
    } else {
      if (!r.keyManager)
        err(`${at}.keyManager`, `a ${r.role} region has every component, including a key manager`);
      if (!r.databases || Object.keys(r.databases).length === 0)
        err(
          `${at}.databases`,
          `a ${r.role} region needs its databases (the main's primaries or their replicas)`,
        );
    }
    if (r.role === 'failover' && main) {
      for (const [key, db] of Object.entries(mainDbs)) {
        const replica = r.databases?.[key];
        if (!replica) err(`${at}.databases`, `missing a replica of the main region's database "${key}"`);
        else if (engineFamily(replica.engine) !== engineFamily(db.engine))
          err(
            `${at}.databases.${key}.engine`,
            `"${replica.engine}" cannot replicate the main's "${db.engine}"`,
          );
      }
      for (const key of Object.keys(r.databases ?? {}))
        if (!(key in mainDbs))
          err(`${at}.databases.${key}`, `the main region "${main}" has no database "${key}" to replicate`);
    }
    for (const [kind, comp] of [
      ['gateway', r.gateway],
      ['keyManager', r.keyManager],
    ] as const) {
      if (!comp) continue;
      if (comp.minHealthy > comp.checks.length)
        err(
          `${at}.${kind}.minHealthy`,
          `${comp.minHealthy} exceeds the number of checks (${comp.checks.length})`,
        );
      const seen = new Set<string>();
      comp.checks.forEach((c, i) => {
        if (seen.has(c.name)) err(`${at}.${kind}.checks[${i}].name`, `duplicate check name "${c.name}"`);
        seen.add(c.name);
        const interval = c.interval ?? config.probes.interval;
        const timeout = c.timeout ?? config.probes.timeout;
        if (timeout >= interval)
          err(
            `${at}.${kind}.checks[${i}]`,
            `timeout (${timeout}ms) must be shorter than the interval (${interval}ms)`,
          );
      });
    }
    // Fallbacks name existing main/failover regions other than this one.
    const fb = r.failover;
    if (fb) {
      const refs: [string, string][] = Array.isArray(fb)
        ? fb.map((t, i) => [`${at}.failover[${i}]`, t])
        : Object.keys(fb.split).map((t) => [`${at}.failover.split.${t}`, t]);
      const seen = new Set<string>();
      for (const [p, t] of refs) {
        if (!config.regions[t]) err(p, `unknown region "${t}"`);
        else if (t === id) err(p, 'a region cannot fail over to itself');
        else if (!isCore(t))
          err(p, `"${t}" is an edge region; traffic fails over only to the main or a failover region`);
        if (seen.has(t)) err(p, `"${t}" is listed twice`);
        seen.add(t);
      }
    }
  }

  // Records.
  const names = new Map<string, number>();
  const identifiers = new Map<string, string>();
  config.records.forEach((rec, i) => {
    const at = `records[${i}]`;
    const key = `${rec.name.toLowerCase().replace(/\.$/, '')}/${rec.type}`;
    const prev = names.get(key);
    if (prev !== undefined)
      err(`${at}.name`, `"${rec.name}" (${rec.type}) is already defined at records[${prev}]`);
    names.set(key, i);
    if (rec.home !== undefined && !config.regions[rec.home])
      err(`${at}.home`, `unknown region "${rec.home}"`);
    if (rec.class === 'management' && rec.home !== undefined)
      err(`${at}.home`, 'management records have no home: they always point at the current main');
    if (rec.class === 'api' && rec.home !== undefined && !rec.targets[rec.home])
      err(`${at}.targets`, `an api record needs a target in its home region "${rec.home}"`);
    const targetIds = Object.keys(rec.targets);
    if (targetIds.length === 0) err(`${at}.targets`, 'a record needs at least one target');
    for (const t of targetIds) {
      const region = config.regions[t];
      const tp = `${at}.targets.${t}`;
      if (!region) {
        err(tp, `unknown region "${t}"`);
        continue;
      }
      if (rec.class === 'auth' && !region.keyManager)
        err(tp, `region "${t}" has no key manager to serve auth`);
      if (rec.class === 'management' && !isCore(t))
        err(tp, `management can only be served by the main or a failover region`);
      const target = rec.targets[t];
      if (target?.values) {
        for (const [j, v] of target.values.entries()) {
          const bad = valueProblem(rec.type, v);
          if (bad) err(`${tp}.values[${j}]`, bad);
        }
        if (rec.type === 'CNAME' && target.values.length !== 1)
          err(`${tp}.values`, 'a CNAME has exactly one value');
      }
      const sid = target?.setIdentifier ?? t;
      const sidKey = `${key}/${sid}`;
      if (identifiers.has(sidKey))
        err(`${tp}.setIdentifier`, `set identifier "${sid}" is used twice in "${rec.name}"`);
      identifiers.set(sidKey, tp);
    }
    if (rec.class === 'management') {
      for (const [id, r] of regions)
        if ((r.role === 'main' || r.role === 'failover') && !rec.targets[id])
          err(
            `${at}.targets`,
            `management needs a target in "${id}" (${r.role}) so that it can follow a promotion`,
          );
    }
  });

  const mgmt = config.records.filter((r) => r.class === 'management').length;
  if (config.records.length > 0 && mgmt === 0)
    warn('records', 'no management record: management writes will not be routed');
  for (const [id] of regions)
    if (!config.records.some((r) => r.class === 'api' && r.home === id))
      warn(
        'records',
        `region "${id}" has no api record with home "${id}"; its clients have no local entry name`,
      );
  if (!regions.some(([, r]) => r.role === 'failover'))
    warn(
      'regions',
      'no failover region: losing the main region leaves management and promotion nowhere to go',
    );

  // Safety rule 6: two sites cannot tell an outage from a partition.
  if (config.policy.promotion.mode === 'automatic') {
    if (regions.length < 3)
      err(
        'policy.promotion.mode',
        'automatic promotion needs at least three regions (the edges act as witnesses); with fewer, use "manual"',
      );
    else if (config.director.observers < 3)
      warn(
        'policy.promotion.mode',
        `automatic promotion with ${config.director.observers} observer(s): a partition between this director and the main region looks like an outage. Run observers in three regions or use "manual"`,
      );
  }
  if (config.dns.provider === 'route53' && !config.dns.route53)
    err('dns.route53', 'provider "route53" needs a dns.route53 section (hostedZoneId at least)');
  checkCoordination(config, err, warn);
  config.maintenance.forEach((m, i) => {
    if (!config.regions[m.region]) err(`maintenance[${i}].region`, `unknown region "${m.region}"`);
    if (m.cron.trim().split(/\s+/).length < 5 || m.cron.trim().split(/\s+/).length > 6)
      err(`maintenance[${i}].cron`, `"${m.cron}" is not a cron expression of 5 or 6 fields`);
  });
  if (config.policy.recoverAfter < config.policy.failAfter)
    warn(
      'policy.recoverAfter',
      'recoverAfter is shorter than failAfter: a flapping region will move traffic often',
    );

  return { errors, warnings };
}

/** state.store etcd: the etcd section, its TLS and credentials, timings, and the instance's identity. */
function checkCoordination(
  config: Config,
  err: (path: string, message: string) => void,
  warn: (path: string, message: string) => void,
): void {
  const etcd = config.state.etcd;
  if (config.state.store === 'etcd') {
    if (!etcd) err('state.etcd', 'state.store "etcd" needs a state.etcd section (endpoints at least)');
    if (!config.director.region)
      err(
        'director.region',
        'with state.store "etcd" every instance names the region it runs in (its identity as an observer)',
      );
  }
  const region = config.director.region;
  if (region !== undefined && !config.regions[region])
    warn(
      'director.region',
      `"${region}" is not a configured region: this observer runs outside them (a witness)`,
    );
  const quorum = config.director.quorum;
  if (quorum !== undefined && quorum > config.director.observers)
    err(
      'director.quorum',
      `${quorum} exceeds director.observers (${config.director.observers}): no component could ever be decided`,
    );
  if (!etcd) return;
  const schemes = new Set(etcd.endpoints.map((u) => new URL(u).protocol));
  if (schemes.size > 1)
    err('state.etcd.endpoints', 'use one scheme for every endpoint (all http:// or all https://)');
  if (etcd.tls && schemes.has('http:')) err('state.etcd.tls', 'TLS settings need https:// endpoints');
  if (etcd.tls && (etcd.tls.cert === undefined) !== (etcd.tls.key === undefined))
    err('state.etcd.tls', 'a client certificate needs both "cert" and "key"');
  if ((etcd.username === undefined) !== (etcd.password === undefined))
    err(
      etcd.username === undefined ? 'state.etcd.username' : 'state.etcd.password',
      'etcd authentication needs both username and password',
    );
  if (etcd.callTimeout * 3 > etcd.leaseTtl)
    err(
      'state.etcd.callTimeout',
      `${etcd.callTimeout}ms is more than a third of leaseTtl (${etcd.leaseTtl}ms): a keep-alive must be able to time out and be retried before the lease runs out`,
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
