import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { isSwitchyardError } from '../../src/util/errors.js';
import { EXAMPLE } from '../support/engine.js';

/** state.etcd, director.region and director.quorum: the configuration of several instances on etcd. */

const example = () => parse(readFileSync(EXAMPLE, 'utf8')) as Record<string, any>;

function onEtcd(etcd: Record<string, unknown>, director: Record<string, unknown> = { region: 'r1' }) {
  const c = example();
  c.state = { store: 'etcd', etcd };
  c.director = { ...c.director, ...director };
  return c;
}

function errorsOf(raw: unknown): string[] {
  try {
    parseConfig(raw, 'test.yaml');
  } catch (e) {
    if (isSwitchyardError(e, 'CONFIG_INVALID')) return [...e.details];
    throw e;
  }
  throw new Error('configuration was accepted');
}

describe('state.etcd configuration', () => {
  it('fills defaults: prefix /switchyard/, leaseTtl 10 s, callTimeout 2 s', () => {
    const { config } = parseConfig(onEtcd({ endpoints: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'] }));
    expect(config.state.etcd).toEqual({
      endpoints: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'],
      prefix: '/switchyard/',
      leaseTtl: 10_000,
      callTimeout: 2_000,
    });
    expect(config.director.region).toBe('r1');
    expect(config.director.quorum).toBeUndefined();
  });

  it('accepts TLS files and a user whose password is a secret reference', () => {
    const { config } = parseConfig(
      onEtcd({
        endpoints: ['https://etcd-1.example:2379'],
        prefix: '/prod/switchyard/',
        tls: { ca: '/etc/etcd/ca.pem', cert: '/etc/etcd/client.pem', key: '/etc/etcd/client-key.pem' },
        username: 'switchyard',
        password: 'file:/run/secrets/etcd-password',
        leaseTtl: '6s',
        callTimeout: '1500ms',
      }),
    );
    expect(config.state.etcd).toMatchObject({ leaseTtl: 6_000, callTimeout: 1_500, username: 'switchyard' });
  });

  it('needs state.etcd and director.region when the store is etcd', () => {
    const c = example();
    c.state = { store: 'etcd' };
    expect(errorsOf(c)).toEqual([
      expect.stringMatching(/^state\.etcd: state\.store "etcd" needs a state\.etcd section/),
      expect.stringMatching(/^director\.region: with state\.store "etcd" every instance names the region/),
    ]);
  });

  it('names the exact path of each mistake', () => {
    expect(errorsOf(onEtcd({ endpoints: [] }))).toEqual([
      expect.stringMatching(/^state\.etcd\.endpoints: at least one/),
    ]);
    expect(errorsOf(onEtcd({ endpoints: ['etcd-1:2379'] }))).toEqual([
      expect.stringMatching(/^state\.etcd\.endpoints\[0\]: expected the http:\/\/ or https:\/\/ URL/),
    ]);
    expect(errorsOf(onEtcd({ endpoints: ['http://a:2379'], prefix: 'switchyard' }))).toEqual([
      expect.stringMatching(/^state\.etcd\.prefix: a key prefix starts and ends with "\/"/),
    ]);
    expect(errorsOf(onEtcd({ endpoints: ['http://a:2379'], password: 'hunter2', username: 'u' }))).toEqual([
      expect.stringMatching(/^state\.etcd\.password: must be a secret reference/),
    ]);
    expect(errorsOf(onEtcd({ endpoints: ['http://a:2379'], leaseTtl: '1s' }))).toEqual([
      expect.stringMatching(/^state\.etcd\.leaseTtl: "1s" is too short: at least 2s/),
    ]);
    expect(errorsOf(onEtcd({ endpoints: ['http://a:2379'], leaseTtl: '90s' }))).toEqual([
      expect.stringMatching(/^state\.etcd\.leaseTtl: /),
    ]);
  });

  it('cross-checks TLS against the scheme, credentials in pairs, and the call timeout against the TTL', () => {
    expect(errorsOf(onEtcd({ endpoints: ['http://a:2379', 'https://b:2379'] }))).toEqual([
      expect.stringMatching(/^state\.etcd\.endpoints: use one scheme/),
    ]);
    expect(errorsOf(onEtcd({ endpoints: ['http://a:2379'], tls: { ca: '/ca.pem' } }))).toEqual([
      expect.stringMatching(/^state\.etcd\.tls: TLS settings need https:\/\/ endpoints/),
    ]);
    expect(errorsOf(onEtcd({ endpoints: ['https://a:2379'], tls: { cert: '/c.pem' } }))).toEqual([
      expect.stringMatching(/^state\.etcd\.tls: a client certificate needs both "cert" and "key"/),
    ]);
    expect(errorsOf(onEtcd({ endpoints: ['http://a:2379'], username: 'u' }))).toEqual([
      expect.stringMatching(/^state\.etcd\.password: etcd authentication needs both/),
    ]);
    expect(errorsOf(onEtcd({ endpoints: ['http://a:2379'], leaseTtl: '5s', callTimeout: '2s' }))).toEqual([
      expect.stringMatching(/^state\.etcd\.callTimeout: 2000ms is more than a third of leaseTtl \(5000ms\)/),
    ]);
  });

  it('director.quorum cannot exceed the observers; a region outside the configured ones is a warning', () => {
    expect(
      errorsOf(onEtcd({ endpoints: ['http://a:2379'] }, { region: 'r1', quorum: 2, observers: 1 })),
    ).toEqual([expect.stringMatching(/^director\.quorum: 2 exceeds director\.observers \(1\)/)]);
    const { config, warnings } = parseConfig(
      onEtcd({ endpoints: ['http://a:2379'] }, { region: 'witness', quorum: 2, observers: 3 }),
    );
    expect(config.director.quorum).toBe(2);
    expect(warnings).toContainEqual({
      path: 'director.region',
      message: expect.stringMatching(/"witness" is not a configured region/),
    });
    expect(errorsOf(onEtcd({ endpoints: ['http://a:2379'] }, { region: 'R1!' }))).toEqual([
      expect.stringMatching(/^director\.region: region ids are lower-case/),
    ]);
  });
});
