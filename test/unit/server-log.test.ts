import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, moduleLogger } from '../../src/log.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, logger: createLogger({ level: 'debug', destination }) };
}

describe('logger', () => {
  it('writes one JSON object per line with a level label and time', () => {
    const { lines, logger } = capture();
    logger.info({ event: 'x', reason: 'because' }, 'hello');
    const line = JSON.parse(lines[0] ?? '');
    expect(line).toMatchObject({ level: 'info', event: 'x', reason: 'because', msg: 'hello' });
    expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('redacts credentials wherever they usually hide', () => {
    const { lines, logger } = capture();
    logger.info(
      {
        password: 'p0',
        token: 't0',
        config: {
          director: { adminToken: 'env-resolved-admin' },
          regions: { r1: { databases: { apim: { password: 'p1' } } } },
        },
        db: { password: 'p2', user: 'apim' },
        check: { bearerToken: 'b1', http: { bearerToken: 'b2' } },
        req: { headers: { authorization: 'Bearer hunter2', host: 'x' } },
        headers: { authorization: 'Bearer h3' },
      },
      'secrets everywhere',
    );
    const text = lines.join('');
    for (const secret of ['p0', 't0', 'env-resolved-admin', 'p1', 'p2', 'b1', 'b2', 'hunter2', 'h3'])
      expect(text, secret).not.toContain(`"${secret}`);
    expect(text).not.toContain('hunter2');
    expect(text).toContain('[redacted]');
    expect(text).toContain('"user":"apim"');
  });

  it('child loggers carry their module', () => {
    const { lines, logger } = capture();
    moduleLogger(logger, 'probe', { target: 'r1/gateway/health' }).warn({ adminToken: 'zzz' }, 'down');
    const line = JSON.parse(lines[0] ?? '');
    expect(line).toMatchObject({ module: 'probe', target: 'r1/gateway/health', adminToken: '[redacted]' });
  });
});
