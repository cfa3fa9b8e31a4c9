import { formatDuration } from '../util/duration.js';

/**
 * Stable failure codes shared by the network probes (http, tcp). Operators alert on these and
 * the health layer quotes them in reasons, so they never change meaning.
 */
export const PROBE_FAILURES = {
  timeout: 'no answer within the probe timeout (connect, headers or body)',
  refused: 'the connection was refused (nothing listening)',
  reset: 'the connection was reset or closed by the peer mid-exchange',
  dns: 'the host name did not resolve',
  unreachable: 'no route to the host or network',
  tls: 'the TLS handshake failed (untrusted or expired certificate, wrong name, client certificate refused)',
  'tls-config': 'a CA, certificate or key file named in the check could not be read',
  secret: 'the bearer token reference could not be resolved',
  status: 'the HTTP status was not one of the expected ones',
  'body-mismatch': 'the body (its first maxBodyBytes) did not match bodyMatch / bodyRegex',
  protocol: 'the peer did not speak valid HTTP',
  aborted: 'the run was cancelled (scheduler stopping or target removed)',
  'probe-error': 'the probe itself threw (a bug: probes must return failures as results)',
  network: 'another network error',
} as const;

export type ProbeFailure = keyof typeof PROBE_FAILURES;

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_TLS_HANDSHAKE_TIMEOUT',
  'HOSTNAME_MISMATCH',
]);

interface ErrLike {
  code?: unknown;
  name?: unknown;
  message?: unknown;
  cause?: unknown;
}

/** The error and its causes, outermost first (undici sometimes wraps the socket error). */
function chain(e: unknown): ErrLike[] {
  const out: ErrLike[] = [];
  let cur: unknown = e;
  while (cur && typeof cur === 'object' && out.length < 5) {
    out.push(cur as ErrLike);
    cur = (cur as ErrLike).cause;
  }
  return out;
}

function codeOf(e: ErrLike): string {
  return typeof e.code === 'string' ? e.code : '';
}

/** Maps a thrown network error to a stable code and a short detail; never includes secrets. */
export function classifyError(e: unknown, timeoutMs: number): { error: ProbeFailure; detail: string } {
  const errs = chain(e);
  const first = errs[0];
  const message = (first && typeof first.message === 'string' ? first.message : String(e)).slice(0, 200);
  for (const x of errs) {
    const code = codeOf(x);
    const name = typeof x.name === 'string' ? x.name : '';
    if (
      name === 'TimeoutError' ||
      code === 'UND_ERR_CONNECT_TIMEOUT' ||
      code === 'UND_ERR_HEADERS_TIMEOUT' ||
      code === 'UND_ERR_BODY_TIMEOUT' ||
      code === 'ETIMEDOUT'
    )
      return { error: 'timeout', detail: `timeout after ${formatDuration(timeoutMs)}` };
    if (code === 'ECONNREFUSED') return { error: 'refused', detail: `connect ECONNREFUSED` };
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME')
      return { error: 'dns', detail: `${code}: ${message}` };
    if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL')
      return { error: 'unreachable', detail: `${code}: ${message}` };
    if (TLS_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_'))
      return { error: 'tls', detail: `${code}: ${message}` };
    if (code.startsWith('HPE_') || code === 'UND_ERR_INVALID_ARG' || name === 'HTTPParserError')
      return { error: 'protocol', detail: `invalid HTTP response (${code || name})` };
  }
  for (const x of errs) {
    const code = codeOf(x);
    if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET' || code === 'UND_ERR_CLOSED')
      return { error: 'reset', detail: `${code}: ${message}` };
    if (code === 'UND_ERR_ABORTED' || (typeof x.name === 'string' && x.name === 'AbortError'))
      return { error: 'aborted', detail: 'aborted' };
  }
  const code = first ? codeOf(first) : '';
  return { error: 'network', detail: code ? `${code}: ${message}` : message };
}
