/**
 * How a failed Route 53 call is handled:
 * - `throttled`: Throttling / PriorRequestNotComplete: retry with backoff;
 * - `transient`: 5xx, network errors, unparseable responses: retry with backoff;
 * - `invalid`: InvalidChangeBatch / InvalidInput and other 400s: never retried (the same batch
 *   fails the same way), reported with Route 53's messages;
 * - `fatal`: everything else (AccessDenied, NoSuchHostedZone…): not retried here; the reconciler
 *   keeps retrying slowly with the alert raised, since an operator may fix it.
 */
export type Route53ErrorKind = 'throttled' | 'transient' | 'invalid' | 'fatal';

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  messages?: unknown;
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
const INVALID = new Set(['InvalidChangeBatch', 'InvalidInput', 'InvalidArgument']);
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
  if (INVALID.has(name)) return 'invalid';
  if (status !== undefined && status >= 500) return 'transient';
  if (status !== undefined && status < 400) return 'transient'; // a 2xx we could not parse (truncated body)
  if (NETWORK.has(name) || (e.code !== undefined && NETWORK.has(e.code))) return 'transient';
  if (status === undefined) return 'transient'; // no HTTP answer we could read: connection or parse failure
  if (status === 400) return 'invalid';
  return 'fatal';
}

/** Route 53's own messages for a rejected batch (InvalidChangeBatch carries a list). */
export function route53Messages(err: unknown): string[] {
  const e = (err ?? {}) as SdkErrorShape;
  const list = Array.isArray(e.messages) ? e.messages.filter((m): m is string => typeof m === 'string') : [];
  if (list.length > 0) return list;
  return [e.message ?? String(err)];
}

export function describeRoute53Error(err: unknown): string {
  const e = (err ?? {}) as SdkErrorShape;
  const status = e.$metadata?.httpStatusCode;
  return `${e.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(err)}`;
}
