/**
 * Name lookups against real directories in a temp dir: the kube log directory is listed again
 * when an id is missing and the directory changed; Docker configs are read once per id, a missing
 * one tried again after a few rounds; bad files give no name.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NameSources } from '../../../packages/agent/src/namespaces/name-sources.js';
import { tempDir } from '../../helpers/procs.js';

const t = tempDir('names');
afterAll(() => t.cleanup());
const id = (c: string): string => c.repeat(64);

describe('NameSources', () => {
  it('kube log directory: names by container id; a new file is found once the directory changed', () => {
    const dir = join(t.dir, 'containers');
    mkdirSync(dir);
    writeFileSync(join(dir, `web-1_shop_nginx-${id('a')}.log`), '');
    writeFileSync(join(dir, 'not-a-log'), '');
    const n = new NameSources(dir, join(t.dir, 'nodocker'));
    n.nextRound();
    expect(n.kube(id('a'))).toEqual({ id: id('a'), pod: 'web-1', namespace: 'shop', container: 'nginx' });
    expect(n.kube(id('b'))).toBeUndefined();
    writeFileSync(join(dir, `api-0_prod_server-${id('b')}.log`), '');
    // Same round: not listed again.
    expect(n.kube(id('b'))).toBeUndefined();
    n.nextRound();
    utimesSync(dir, new Date(), new Date(Date.now() + 5000));
    expect(n.kube(id('b'))).toMatchObject({ pod: 'api-0', namespace: 'prod', container: 'server' });
    expect(n.kube(id('a'))?.pod).toBe('web-1');
  });

  it('a missing kube log directory gives no names, no error', () => {
    const n = new NameSources(join(t.dir, 'absent'), join(t.dir, 'absent'));
    n.nextRound();
    expect(n.kube(id('c'))).toBeUndefined();
  });

  it('docker: Name from config.v2.json, read once; a missing config tried again after six rounds; bad ones no name', () => {
    const docker = join(t.dir, 'docker');
    const write = (cid: string, text: string): void => {
      mkdirSync(join(docker, 'containers', cid), { recursive: true });
      writeFileSync(join(docker, 'containers', cid, 'config.v2.json'), text);
    };
    write(id('d'), JSON.stringify({ Name: '/db-1' }));
    write(id('e'), '{broken');
    const n = new NameSources(join(t.dir, 'absent'), docker);
    n.nextRound();
    expect(n.docker(id('d'))).toBe('db-1');
    expect(n.docker(id('e'))).toBeUndefined();
    expect(n.docker('../../etc')).toBeUndefined();
    // Read once: a changed file is not read again while the id is in use.
    write(id('d'), JSON.stringify({ Name: '/renamed' }));
    expect(n.docker(id('d'))).toBe('db-1');
    // Missing now, written later: found after the retry interval.
    expect(n.docker(id('f'))).toBeUndefined();
    write(id('f'), JSON.stringify({ Name: '/late' }));
    for (let i = 0; i < 5; i++) {
      n.nextRound();
      expect(n.docker(id('f'))).toBeUndefined();
    }
    n.nextRound();
    expect(n.docker(id('f'))).toBe('late');
    // Pruned ids are read afresh.
    n.prune(new Set([id('f')]));
    expect(n.docker(id('d'))).toBe('renamed');
    rmSync(docker, { recursive: true });
  });
});
