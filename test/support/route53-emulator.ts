import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listingKey } from '../../src/dns/route53-names.js';
import { child, childrenOf, parseXml, textOf, toXml, type XmlNode, type XmlObject } from './route53-xml.js';

/**
 * A small Route 53 emulator: the REST/XML subset switchyard uses (GetHostedZone,
 * ListResourceRecordSets with paging, ChangeResourceRecordSets, GetChange), spoken well enough
 * for the real AWS SDK client to parse, and validating change batches the way Route 53 does.
 * Listens on 127.0.0.1, port 0. Point the SDK at `endpoint` with any static credentials.
 */

const NS = 'https://route53.amazonaws.com/doc/2013-04-01/';

export type EmulatorOperation =
  | 'GetHostedZone'
  | 'ListResourceRecordSets'
  | 'ChangeResourceRecordSets'
  | 'GetChange';
export type InjectedError =
  | 'Throttling'
  | 'PriorRequestNotComplete'
  | 'ServiceUnavailable'
  | 'InternalFailure'
  /** The server closes the connection without answering. */
  | 'ConnectionReset';

export interface EmuRecordSet {
  /** Fully qualified, lower case, trailing dot. */
  name: string;
  type: string;
  setIdentifier?: string;
  weight?: number;
  ttl?: number;
  values?: string[];
  alias?: { hostedZoneId: string; dnsName: string; evaluateTargetHealth: boolean };
  /** Latency routing (a non-weighted policy, for ownership tests). */
  region?: string;
  /** Failover routing: PRIMARY | SECONDARY. */
  failover?: string;
}

export interface EmuChange {
  action: 'CREATE' | 'DELETE' | 'UPSERT';
  set: EmuRecordSet;
}

export interface EmuBatch {
  changeId: string;
  comment?: string;
  changes: EmuChange[];
}

export interface Route53EmulatorOptions {
  zoneId?: string;
  zoneName?: string;
  /** Milliseconds before a change goes from PENDING to INSYNC. */
  insyncDelayMs?: number;
  /** Route 53's per-request limits (UPSERT counts twice). */
  maxRecordElements?: number;
  maxValueChars?: number;
}

class RequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly type: 'Sender' | 'Receiver' = 'Sender',
  ) {
    super(message);
  }
}

export class Route53Emulator {
  readonly zoneId: string;
  readonly zoneName: string;
  insyncDelayMs: number;
  private readonly maxElements: number;
  private readonly maxChars: number;
  private server?: Server;
  private sets: EmuRecordSet[] = [];
  private changes = new Map<string, { submittedAt: number; comment?: string }>();
  private injected: { code: InjectedError; operation?: EmulatorOperation }[] = [];
  private outage?: InjectedError;
  private seq = 0;
  /** Calls received per operation, including failed ones. */
  readonly calls: Record<EmulatorOperation, number> = {
    GetHostedZone: 0,
    ListResourceRecordSets: 0,
    ChangeResourceRecordSets: 0,
    GetChange: 0,
  };
  /** Change batches accepted, in order. */
  readonly batches: EmuBatch[] = [];
  /** Called synchronously for every accepted batch, as it is accepted (benchmarks time arrivals). */
  onBatch: ((batch: EmuBatch) => void) | undefined;
  /** Change batches rejected, with Route 53's message. */
  readonly rejected: { code: string; message: string }[] = [];

  constructor(opts: Route53EmulatorOptions = {}) {
    this.zoneId = opts.zoneId ?? 'Z0EMULATOR';
    this.zoneName = fq(opts.zoneName ?? 'example.com');
    this.insyncDelayMs = opts.insyncDelayMs ?? 50;
    this.maxElements = opts.maxRecordElements ?? 1_000;
    this.maxChars = opts.maxValueChars ?? 32_000;
    this.sets.push(
      {
        name: this.zoneName,
        type: 'NS',
        ttl: 172800,
        values: ['ns-1.awsdns-00.com.', 'ns-2.awsdns-00.net.'],
      },
      {
        name: this.zoneName,
        type: 'SOA',
        ttl: 900,
        values: ['ns-1.awsdns-00.com. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400'],
      },
    );
  }

  get endpoint(): string {
    const addr = this.server?.address() as AddressInfo | undefined;
    if (!addr) throw new Error('emulator not started');
    return `http://127.0.0.1:${addr.port}`;
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return this.endpoint;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = undefined;
  }

  /** Adds a record set as if created outside switchyard (any routing policy). */
  seed(set: EmuRecordSet | EmuRecordSet[]): void {
    for (const s of Array.isArray(set) ? set : [set]) {
      const norm = { ...s, name: fq(s.name) };
      this.sets = this.sets.filter((x) => !sameSet(x, norm));
      this.sets.push(norm);
    }
  }

  /** The current sets, sorted as Route 53 lists them. */
  list(): EmuRecordSet[] {
    return sorted(this.sets).map((s) => structuredClone(s));
  }

  find(name: string, type: string, setIdentifier?: string): EmuRecordSet | undefined {
    return this.sets.find((s) => s.name === fq(name) && s.type === type && s.setIdentifier === setIdentifier);
  }

  /** The next `count` calls (of `operation`, or of any) fail with `code`. */
  failNext(count: number, code: InjectedError = 'Throttling', operation?: EmulatorOperation): void {
    for (let i = 0; i < count; i++) this.injected.push({ code, ...(operation ? { operation } : {}) });
  }

  /** Every call fails with `code` until called again with undefined. */
  setOutage(code: InjectedError | undefined): void {
    this.outage = code;
  }

  totalCalls(): number {
    return Object.values(this.calls).reduce((a, b) => a + b, 0);
  }

  resetCounters(): void {
    for (const k of Object.keys(this.calls) as EmulatorOperation[]) this.calls[k] = 0;
    this.batches.length = 0;
    this.rejected.length = 0;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    try {
      const body = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const { operation, id } = route(req.method ?? 'GET', url.pathname);
      this.calls[operation]++;
      if (!req.headers.authorization)
        throw new RequestError(403, 'MissingAuthenticationToken', 'missing signature');
      this.maybeFail(operation);
      if (id !== this.zoneId && operation !== 'GetChange')
        throw new RequestError(404, 'NoSuchHostedZone', `No hosted zone found with ID: ${id}`);
      let xml: string;
      switch (operation) {
        case 'GetHostedZone':
          xml = this.getHostedZone();
          break;
        case 'ListResourceRecordSets':
          xml = this.listRecordSets(url.searchParams);
          break;
        case 'ChangeResourceRecordSets':
          xml = this.changeRecordSets(body);
          break;
        case 'GetChange':
          xml = this.getChange(id);
          break;
      }
      send(res, 200, xml, requestId);
    } catch (err) {
      if (err instanceof RequestError && err.code === 'ConnectionReset') {
        req.socket.destroy();
        return;
      }
      const e =
        err instanceof RequestError ? err : new RequestError(500, 'InternalFailure', String(err), 'Receiver');
      if (e.code === 'InvalidChangeBatch' || e.code === 'InvalidInput')
        this.rejected.push({ code: e.code, message: e.message });
      send(
        res,
        e.status,
        `<?xml version="1.0"?>\n<ErrorResponse xmlns="${NS}">${toXml('Error', {
          Type: e.type,
          Code: e.code,
          Message: e.message,
        })}<RequestId>${requestId}</RequestId></ErrorResponse>`,
        requestId,
      );
    }
  }

  private maybeFail(operation: EmulatorOperation): void {
    let code = this.outage;
    if (!code) {
      const i = this.injected.findIndex((f) => f.operation === undefined || f.operation === operation);
      if (i >= 0) {
        code = this.injected[i]?.code;
        this.injected.splice(i, 1);
      }
    }
    if (!code) return;
    if (code === 'Throttling') throw new RequestError(400, 'Throttling', 'Rate exceeded');
    if (code === 'PriorRequestNotComplete')
      throw new RequestError(
        400,
        'PriorRequestNotComplete',
        'The request was rejected because Route 53 was still processing a prior request.',
      );
    if (code === 'ConnectionReset') throw new RequestError(0, 'ConnectionReset', 'connection reset');
    if (code === 'ServiceUnavailable')
      throw new RequestError(503, 'ServiceUnavailable', 'Service is unavailable', 'Receiver');
    throw new RequestError(500, 'InternalFailure', 'An internal error occurred', 'Receiver');
  }

  private getHostedZone(): string {
    return doc('GetHostedZoneResponse', {
      HostedZone: {
        Id: `/hostedzone/${this.zoneId}`,
        Name: this.zoneName,
        CallerReference: 'switchyard-emulator',
        Config: { PrivateZone: false },
        ResourceRecordSetCount: this.sets.length,
      },
      DelegationSet: { NameServers: { NameServer: ['ns-1.awsdns-00.com', 'ns-2.awsdns-00.net'] } },
    });
  }

  private listRecordSets(q: URLSearchParams): string {
    const name = q.get('name');
    const type = q.get('type');
    const identifier = q.get('identifier');
    if (type && !name)
      throw new RequestError(400, 'InvalidInput', 'The input is not valid: type requires name');
    if (identifier && !type)
      throw new RequestError(400, 'InvalidInput', 'The input is not valid: identifier requires type');
    const max = Math.min(300, Math.max(1, Number(q.get('maxitems') ?? 300) || 300));
    const all = sorted(this.sets);
    const startKey: [string, string, string] = [name ? listingKey(name) : '', type ?? '', identifier ?? ''];
    const from = all.filter((s) => compareTuple(sortKey(s), startKey) >= 0);
    const page = from.slice(0, max);
    const next = from[max];
    return doc('ListResourceRecordSetsResponse', {
      ResourceRecordSets: { ResourceRecordSet: page.map(toXmlSet) },
      IsTruncated: next !== undefined,
      NextRecordName: next?.name,
      NextRecordType: next?.type,
      NextRecordIdentifier: next?.setIdentifier,
      MaxItems: max,
    });
  }

  private getChange(id: string): string {
    const change = this.changes.get(id);
    if (!change)
      throw new RequestError(
        404,
        'NoSuchChange',
        `A change with the specified change ID does not exist: ${id}`,
      );
    const insync = Date.now() - change.submittedAt >= this.insyncDelayMs;
    return doc('GetChangeResponse', {
      ChangeInfo: {
        Id: `/change/${id}`,
        Status: insync ? 'INSYNC' : 'PENDING',
        SubmittedAt: new Date(change.submittedAt).toISOString(),
        Comment: change.comment,
      },
    });
  }

  private changeRecordSets(body: string): string {
    let root: XmlNode;
    try {
      root = parseXml(body);
    } catch (err) {
      throw new RequestError(400, 'InvalidInput', `Invalid XML: ${(err as Error).message}`);
    }
    const batch = child(root, 'ChangeBatch');
    const comment = textOf(batch, 'Comment');
    const changes = childrenOf(child(batch, 'Changes'), 'Change').map((c) => parseChange(c));
    if (changes.length === 0)
      throw new RequestError(400, 'InvalidInput', 'Invalid XML: Changes must not be empty');

    let elements = 0;
    let chars = 0;
    for (const c of changes) {
      const factor = c.action === 'UPSERT' ? 2 : 1;
      elements += factor * Math.max(1, c.set.values?.length ?? 0);
      chars += factor * (c.set.values ?? []).reduce((n, v) => n + v.length, 0);
    }
    if (elements > this.maxElements)
      throw invalid(`Number of records limit of ${this.maxElements} exceeded.`);
    if (chars > this.maxChars) throw invalid(`Number of characters limit of ${this.maxChars} exceeded.`);

    const messages: string[] = [];
    const seen = new Set<string>();
    const work = this.sets.map((s) => structuredClone(s));
    for (const { action, set } of changes) {
      const problem = validateSet(set, this.zoneName);
      if (problem) throw new RequestError(400, 'InvalidInput', `Invalid request: ${problem}`);
      const id = describe(set);
      if (seen.has(id)) {
        messages.push(`Duplicate Resource Record: '${id}'`);
        continue;
      }
      seen.add(id);
      const existing = work.findIndex((s) => sameSet(s, set));
      if (action === 'CREATE' && existing >= 0) {
        messages.push(`Tried to create resource record set [${id}] but it already exists`);
        continue;
      }
      if (action === 'DELETE') {
        if (existing < 0) messages.push(`Tried to delete resource record set [${id}] but it was not found`);
        else if (!sameContent(work[existing] as EmuRecordSet, set))
          messages.push(
            `Tried to delete resource record set [${id}] but the values provided do not match the current values`,
          );
        else work.splice(existing, 1);
        continue;
      }
      const conflict = work.find(
        (s) =>
          s.name === set.name &&
          !sameSet(s, set) &&
          ((s.type === set.type && (s.setIdentifier === undefined) !== (set.setIdentifier === undefined)) ||
            (s.type !== set.type && (s.type === 'CNAME' || set.type === 'CNAME'))),
      );
      if (conflict) {
        messages.push(
          `RRSet of type ${set.type} with DNS name ${set.name} is not permitted because a conflicting RRSet of type ${conflict.type} with the same DNS name already exists in zone ${this.zoneName}`,
        );
        continue;
      }
      if (existing >= 0) work[existing] = set;
      else work.push(set);
    }
    if (messages.length > 0)
      throw invalid(messages.length === 1 ? (messages[0] as string) : `[${messages.join(', ')}]`);

    this.sets = work;
    const changeId = `C${String(++this.seq).padStart(6, '0')}${randomUUID().slice(0, 8).toUpperCase()}`;
    const submittedAt = Date.now();
    this.changes.set(changeId, { submittedAt, ...(comment !== undefined ? { comment } : {}) });
    const accepted: EmuBatch = { changeId, ...(comment !== undefined ? { comment } : {}), changes };
    this.batches.push(accepted);
    this.onBatch?.(accepted);
    return doc('ChangeResourceRecordSetsResponse', {
      ChangeInfo: {
        Id: `/change/${changeId}`,
        Status: 'PENDING',
        SubmittedAt: new Date(submittedAt).toISOString(),
        Comment: comment,
      },
    });
  }
}

function invalid(message: string): RequestError {
  return new RequestError(400, 'InvalidChangeBatch', message);
}

function route(method: string, path: string): { operation: EmulatorOperation; id: string } {
  let m = /^\/2013-04-01\/hostedzone\/([^/]+)\/rrset\/?$/.exec(path);
  if (m && method === 'GET')
    return { operation: 'ListResourceRecordSets', id: decodeURIComponent(m[1] as string) };
  if (m && method === 'POST')
    return { operation: 'ChangeResourceRecordSets', id: decodeURIComponent(m[1] as string) };
  m = /^\/2013-04-01\/hostedzone\/([^/]+)$/.exec(path);
  if (m && method === 'GET') return { operation: 'GetHostedZone', id: decodeURIComponent(m[1] as string) };
  m = /^\/2013-04-01\/change\/([^/]+)$/.exec(path);
  if (m && method === 'GET') return { operation: 'GetChange', id: decodeURIComponent(m[1] as string) };
  throw new RequestError(404, 'UnknownOperationException', `emulator does not implement ${method} ${path}`);
}

function parseChange(node: XmlNode): EmuChange {
  const action = textOf(node, 'Action');
  if (action !== 'CREATE' && action !== 'DELETE' && action !== 'UPSERT')
    throw new RequestError(400, 'InvalidInput', `Invalid XML: unknown Action ${action}`);
  const rrs = child(node, 'ResourceRecordSet');
  const weight = textOf(rrs, 'Weight');
  const ttl = textOf(rrs, 'TTL');
  const alias = child(rrs, 'AliasTarget');
  const records = childrenOf(child(rrs, 'ResourceRecords'), 'ResourceRecord').map(
    (r) => textOf(r, 'Value') ?? '',
  );
  const set: EmuRecordSet = {
    name: fq(textOf(rrs, 'Name') ?? ''),
    type: textOf(rrs, 'Type') ?? '',
    ...(textOf(rrs, 'SetIdentifier') !== undefined ? { setIdentifier: textOf(rrs, 'SetIdentifier') } : {}),
    ...(weight !== undefined ? { weight: Number(weight) } : {}),
    ...(ttl !== undefined ? { ttl: Number(ttl) } : {}),
    ...(records.length > 0 ? { values: records } : {}),
    ...(alias
      ? {
          alias: {
            hostedZoneId: textOf(alias, 'HostedZoneId') ?? '',
            dnsName: fq(textOf(alias, 'DNSName') ?? ''),
            evaluateTargetHealth: textOf(alias, 'EvaluateTargetHealth') === 'true',
          },
        }
      : {}),
    ...(textOf(rrs, 'Region') !== undefined ? { region: textOf(rrs, 'Region') } : {}),
    ...(textOf(rrs, 'Failover') !== undefined ? { failover: textOf(rrs, 'Failover') } : {}),
  };
  return { action, set };
}

/** Route 53's schema checks on one record set; a message when invalid. */
function validateSet(s: EmuRecordSet, zone: string): string | undefined {
  if (!['A', 'AAAA', 'CNAME', 'TXT', 'MX', 'NS', 'SOA', 'SRV', 'PTR', 'CAA'].includes(s.type))
    return `unsupported type ${s.type}`;
  if (s.name !== zone && !s.name.endsWith(`.${zone}`))
    return `RRSet with DNS name ${s.name} is not permitted in zone ${zone}`;
  if (s.weight !== undefined && s.setIdentifier === undefined)
    return `Missing field 'SetIdentifier' in Change with [Action=?, Name=${s.name}, Type=${s.type}, SetIdentifier=null]`;
  if (s.setIdentifier !== undefined && s.weight === undefined && !s.region && !s.failover)
    return `Missing field 'Weight' (or another routing policy) for set ${s.setIdentifier}`;
  if (s.setIdentifier !== undefined && (s.setIdentifier.length < 1 || s.setIdentifier.length > 128))
    return 'SetIdentifier must be 1-128 characters';
  if (s.weight !== undefined && (!Number.isInteger(s.weight) || s.weight < 0 || s.weight > 255))
    return `Weight ${s.weight} is out of range: it must be between 0 and 255`;
  if (s.alias) {
    if (s.ttl !== undefined) return 'TTL must not be specified for an alias record';
    if (s.values) return 'ResourceRecords must not be specified for an alias record';
  } else {
    if (s.ttl === undefined) return `Missing field 'TTL' for ${s.name}`;
    if (!s.values || s.values.length === 0) return `Missing field 'ResourceRecords' for ${s.name}`;
    if (s.type === 'CNAME' && s.values.length > 1) return 'A CNAME record set must have exactly one value';
  }
  return undefined;
}

function sortKey(s: EmuRecordSet): [string, string, string] {
  return [listingKey(s.name), s.type, s.setIdentifier ?? ''];
}

function compareTuple(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as string;
    const y = b[i] as string;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function sorted(sets: readonly EmuRecordSet[]): EmuRecordSet[] {
  return [...sets].sort((a, b) => compareTuple(sortKey(a), sortKey(b)));
}

function sameSet(a: EmuRecordSet, b: EmuRecordSet): boolean {
  return a.name === b.name && a.type === b.type && a.setIdentifier === b.setIdentifier;
}

function sameContent(a: EmuRecordSet, b: EmuRecordSet): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(s: EmuRecordSet): EmuRecordSet {
  return { ...s, ...(s.values ? { values: [...s.values].sort() } : {}) };
}

function describe(s: EmuRecordSet): string {
  return `name='${s.name}', type='${s.type}', set-identifier='${s.setIdentifier ?? ''}'`;
}

function toXmlSet(s: EmuRecordSet): XmlObject {
  return {
    Name: s.name,
    Type: s.type,
    SetIdentifier: s.setIdentifier,
    Weight: s.weight,
    Region: s.region,
    Failover: s.failover,
    TTL: s.ttl,
    ResourceRecords: s.values ? { ResourceRecord: s.values.map((Value) => ({ Value })) } : undefined,
    AliasTarget: s.alias
      ? {
          HostedZoneId: s.alias.hostedZoneId,
          DNSName: s.alias.dnsName,
          EvaluateTargetHealth: s.alias.evaluateTargetHealth,
        }
      : undefined,
  };
}

function fq(name: string): string {
  const n = name.trim().toLowerCase();
  return n.endsWith('.') ? n : `${n}.`;
}

function doc(root: string, body: XmlObject): string {
  const inner = Object.entries(body)
    .map(([k, v]) => toXml(k, v))
    .join('');
  return `<?xml version="1.0"?>\n<${root} xmlns="${NS}">${inner}</${root}>`;
}

function send(res: ServerResponse, status: number, xml: string, requestId: string): void {
  res.writeHead(status, {
    'content-type': 'text/xml',
    'content-length': Buffer.byteLength(xml),
    'x-amzn-requestid': requestId,
  });
  res.end(xml);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
