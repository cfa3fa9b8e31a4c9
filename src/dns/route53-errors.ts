/**
 * How a failed Route 53 call is handled:
 * - `throttled`: Throttling / PriorRequestNotComplete: retry with backoff;
 * - `transient`: 5xx, network errors, timeouts, unparseable responses, and any 400 whose code is
 *   not one of the documented permanent ones (a proxy's HTML error page, a code this version does
 *   not know): retry with backoff;
 * - `invalid`: only the codes Route 53 documents as "the request itself is wrong" for the calls
 *   switchyard makes — InvalidChangeBatch and InvalidInput. The same request fails the same way,
 *   so it is not retried in the call; it is reported with Route 53's messages;
 * - `fatal`: other documented 4xx (AccessDenied, NoSuchHostedZone, a bad signature…): not retried
 *   in the call; the reconciler keeps retrying with backoff and the alert raised, since an
 *   operator may fix it.
 */
export type Route53ErrorKind = 'throttled' | 'transient' | 'invalid' | 'fatal';

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  messages?: unknown;
  /** Route 53's native InvalidChangeBatch document, as the SDK leaves it when it cannot map it. */
  Messages?: { Message?: unknown };
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

const THROTTLED = new Set([
  'Throttling',
  'ThrottlingException',
  'PriorRequestNotComplete',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);
/** Documented for ChangeResourceRecordSets, ListResourceRecordSets, GetHostedZone and GetChange. */
export const PERMANENT_CODES: ReadonlySet<string> = new Set(['InvalidChangeBatch', 'InvalidInput']);
const NETWORK = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

export function classifyRoute53Error(err: unknown): Route53ErrorKind {
  const e = (err ?? {}) as SdkErrorShape;
  const name = e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  if (THROTTLED.has(name) || e.$retryable?.throttling) return 'throttled';
  if (PERMANENT_CODES.has(name)) return 'invalid';
  // Route 53 answers InvalidChangeBatch with its own root element (<InvalidChangeBatch><Messages>),
  // which the SDK surfaces as "Unknown" with the Messages it parsed: that shape is the code.
  if (status === 400 && nativeMessages(e).length > 0) return 'invalid';
  if (status !== undefined && status >= 500) return 'transient';
  if (status !== undefined && status < 400) return 'transient'; // a 2xx we could not parse (truncated body)
  if (NETWORK.has(name) || (e.code !== undefined && NETWORK.has(e.code))) return 'transient';
  if (status === undefined) return 'transient'; // no HTTP answer we could read: connection or parse failure
  // A 400 without a documented permanent code is not proof that the request is wrong: a load
  // balancer's error page or an unknown code. Back off and retry; the alert says it is failing.
  if (status === 400) return 'transient';
  if (status === 408 || status === 429) return 'transient';
  return 'fatal';
}

/** Route 53's own messages for a rejected batch (InvalidChangeBatch carries a list). */
export function route53Messages(err: unknown): string[] {
  const e = (err ?? {}) as SdkErrorShape;
  const list = Array.isArray(e.messages) ? e.messages.filter((m): m is string => typeof m === 'string') : [];
  if (list.length > 0) return list;
  const native = nativeMessages(e);
  if (native.length > 0) return native;
  return [e.message ?? String(err)];
}

function nativeMessages(e: SdkErrorShape): string[] {
  const m = e.Messages?.Message;
  const list = Array.isArray(m) ? m : [m];
  return list.filter((x): x is string => typeof x === 'string' && x !== '');
}

export function describeRoute53Error(err: unknown): string {
  const e = (err ?? {}) as SdkErrorShape;
  const status = e.$metadata?.httpStatusCode;
  return `${e.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(err)}`;
}
