import { describe, expect, it } from 'vitest';
import { reasonOf, redact } from '../../src/database/failure.js';
import { mapPgStatus, type PgStatusRow } from '../../src/database/pg-status.js';
import { SwitchyardError } from '../../src/util/errors.js';

const primary: PgStatusRow = {
  in_recovery: false,
  tx_read_only: 'off',
  default_read_only: 'off',
  current_lsn: '0/3000148',
  receive_lsn: null,
  replay_lsn: null,
  lag_bytes: null,
  replay_age: null,
  replay_paused: null,
  receiver_status: null,
};

const standby: PgStatusRow = {
  in_recovery: true,
  tx_read_only: 'on',
  default_read_only: 'off',
  current_lsn: null,
  receive_lsn: '0/3000148',
  replay_lsn: '0/3000148',
  lag_bytes: '0',
  replay_age: 3600,
  replay_paused: false,
  receiver_status: 'streaming',
};

describe('PostgreSQL status mapping', () => {
  it('a primary is writable unless a read-only default is set (the fence)', () => {
    expect(mapPgStatus(primary)).toMatchObject({ role: 'primary', writable: true, position: '0/3000148' });
    expect(mapPgStatus({ ...primary, default_read_only: 'on' })).toMatchObject({
      role: 'primary',
      writable: false,
    });
  });

  it('a caught-up idle standby has lag 0 however old its last replayed transaction', () => {
    expect(mapPgStatus(standby)).toMatchObject({
      role: 'replica',
      writable: false,
      streaming: true,
      lagBytes: 0,
      lagSeconds: 0,
      position: '0/3000148',
    });
  });

  it('a standby behind reports the unreplayed bytes and the replay age', () => {
    const s = mapPgStatus({
      ...standby,
      receive_lsn: '0/3100000',
      lag_bytes: '1048248',
      replay_age: 12.5,
      replay_paused: true,
    });
    expect(s).toMatchObject({ lagBytes: 1048248, lagSeconds: 12.5, replayPaused: true });
    expect(s.detail).toContain('replay paused');
  });

  it('a standby that received nothing since it started (restarted after its primary died) has unknown lag, not a growing one', () => {
    const s = mapPgStatus({
      ...standby,
      receive_lsn: null,
      lag_bytes: null,
      replay_age: 47,
      receiver_status: null,
    });
    expect(s).toMatchObject({ lagSeconds: null, lagBytes: null, streaming: false });
    expect(s.detail).toContain('lag ?s/?B');
  });

  it('a restarted standby whose receive position is behind its replay position (segment start) is caught up', () => {
    const s = mapPgStatus({
      ...standby,
      receive_lsn: '0/3000000',
      replay_lsn: '0/3000148',
      lag_bytes: '-328',
      replay_age: 47,
      receiver_status: null,
    });
    expect(s).toMatchObject({ lagSeconds: 0, lagBytes: 0, streaming: false });
  });

  it('unknown lag stays unknown; a stopped WAL receiver is not streaming', () => {
    const s = mapPgStatus({
      ...standby,
      receive_lsn: '0/3100000',
      lag_bytes: '1048248',
      replay_age: null,
      receiver_status: null,
    });
    expect(s).toMatchObject({ lagSeconds: null, streaming: false });
    expect(s.detail).toContain('not streaming');
  });
});

describe('driver error classification', () => {
  it('maps socket codes, SQLSTATEs and mysql2 codes to stable reasons', () => {
    const err = (code: string, message = 'x') => Object.assign(new Error(message), { code });
    expect(reasonOf(err('ECONNREFUSED'))).toBe('refused');
    expect(reasonOf(err('28P01'))).toBe('auth');
    expect(reasonOf(err('ER_ACCESS_DENIED_ERROR'))).toBe('auth');
    expect(reasonOf(err('57014'))).toBe('timeout');
    expect(reasonOf(err('25006'))).toBe('read-only');
    expect(reasonOf(err('ER_OPTION_PREVENTS_STATEMENT'))).toBe('read-only');
    expect(reasonOf(new Error('Connection terminated due to connection timeout'))).toBe('timeout');
    expect(reasonOf(new SwitchyardError('SECRET_UNRESOLVED', 'nope'))).toBe('secret');
    expect(reasonOf('weird')).toBe('error');
  });

  it('redacts the secret from messages', () => {
    expect(redact('password "hunter22" rejected', 'hunter22')).toBe('password "***" rejected');
    expect(redact('nothing here', undefined)).toBe('nothing here');
  });
});
