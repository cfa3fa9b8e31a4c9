import { describe, expect, it } from 'vitest';
import { classifyError, PROBE_FAILURES } from '../../src/probe/failure.js';

function err(code: string, message = code, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code, ...extra });
}

describe('classifyError', () => {
  it.each([
    [err('ECONNREFUSED'), 'refused'],
    [err('ECONNRESET'), 'reset'],
    [err('UND_ERR_SOCKET', 'other side closed'), 'reset'],
    [err('ENOTFOUND', 'getaddrinfo ENOTFOUND gw.invalid'), 'dns'],
    [err('EAI_AGAIN'), 'dns'],
    [err('EHOSTUNREACH'), 'unreachable'],
    [err('UND_ERR_CONNECT_TIMEOUT'), 'timeout'],
    [err('UND_ERR_HEADERS_TIMEOUT'), 'timeout'],
    [err('UND_ERR_BODY_TIMEOUT'), 'timeout'],
    [new DOMException('deadline', 'TimeoutError'), 'timeout'],
    [err('DEPTH_ZERO_SELF_SIGNED_CERT'), 'tls'],
    [err('ERR_TLS_CERT_ALTNAME_INVALID'), 'tls'],
    [err('ERR_SSL_WRONG_VERSION_NUMBER'), 'tls'],
    [err('HPE_INVALID_CONSTANT', 'Expected HTTP/'), 'protocol'],
    [err('UND_ERR_ABORTED'), 'aborted'],
    [new DOMException('stop', 'AbortError'), 'aborted'],
    [err('EWEIRD'), 'network'],
    ['a string', 'network'],
  ] as const)('%s → %s', (e, code) => {
    expect(classifyError(e, 2_000).error).toBe(code);
  });

  it('looks through wrapped causes, preferring the specific cause over a generic wrapper', () => {
    const wrapped = new Error('fetch failed', { cause: err('ECONNREFUSED') });
    expect(classifyError(wrapped, 2_000).error).toBe('refused');
    const tlsUnderSocket = err('UND_ERR_SOCKET', 'closed', { cause: err('CERT_HAS_EXPIRED') });
    expect(classifyError(tlsUnderSocket, 2_000).error).toBe('tls');
  });

  it('describes timeouts with the configured timeout', () => {
    expect(classifyError(err('UND_ERR_HEADERS_TIMEOUT'), 2_000).detail).toBe('timeout after 2s');
  });

  it('every code it returns is in the documented catalogue', () => {
    for (const e of [err('ECONNREFUSED'), err('EWEIRD'), err('HPE_X'), err('ENOTFOUND')])
      expect(Object.keys(PROBE_FAILURES)).toContain(classifyError(e, 1).error);
  });
});
