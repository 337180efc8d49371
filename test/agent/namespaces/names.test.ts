/**
 * Names from local files: Kubernetes log link names and Docker's config.v2.json. Unknown shapes
 * and names that fail the label-like checks (control characters, C1, bidi overrides, too long)
 * give null, never an exception.
 */
import { describe, expect, it } from 'vitest';
import { parseKubeLogName } from '../../../packages/agent/src/namespaces/kube-log-names.js';
import { parseDockerConfigName } from '../../../packages/agent/src/namespaces/docker-names.js';
import { checkedName } from '@tcpfleet/common/agent';

const ID = '0123456789abcdef'.repeat(4);

describe('parseKubeLogName', () => {
  it('splits <pod>_<namespace>_<container>-<id>.log', () => {
    expect(parseKubeLogName(`web-7d9f8c6b5-x2k4q_shop_nginx-${ID}.log`)).toEqual({ id: ID, pod: 'web-7d9f8c6b5-x2k4q', namespace: 'shop', container: 'nginx' });
    expect(parseKubeLogName(`coredns-5d78c9869d-abcde_kube-system_coredns-${ID}.log`)).toEqual({ id: ID, pod: 'coredns-5d78c9869d-abcde', namespace: 'kube-system', container: 'coredns' });
    // A container name with dashes: the id is the last 64 hex digits.
    expect(parseKubeLogName(`p_ns_my-side-car-${ID}.log`)).toEqual({ id: ID, pod: 'p', namespace: 'ns', container: 'my-side-car' });
  });

  it.each([
    ['no .log', `p_ns_c-${ID}`],
    ['short id', `p_ns_c-${ID.slice(1)}.log`],
    ['uppercase id', `p_ns_c-${ID.toUpperCase()}.log`],
    ['two parts', `p_c-${ID}.log`],
    ['four parts', `p_ns_x_c-${ID}.log`],
    ['empty pod', `_ns_c-${ID}.log`],
    ['rotated file', `p_ns_c-${ID}.log.1`],
    ['control character', `p\u0007_ns_c-${ID}.log`],
    ['C1 control', `p\u009b_ns_c-${ID}.log`],
    ['bidi override', `p\u202e_ns_c-${ID}.log`],
    ['namespace too long', `p_${'n'.repeat(64)}_c-${ID}.log`],
    ['pod too long', `${'p'.repeat(254)}_ns_c-${ID}.log`],
    ['junk', '..'],
    ['empty', ''],
  ])('%s -> null', (_name, file) => {
    expect(parseKubeLogName(file)).toBeNull();
  });
});

describe('parseDockerConfigName', () => {
  it('takes Name without the leading slash', () => {
    expect(parseDockerConfigName(JSON.stringify({ ID, Name: '/web-1', Config: { Env: ['A=1'] } }))).toBe('web-1');
    expect(parseDockerConfigName(JSON.stringify({ Name: 'plain' }))).toBe('plain');
  });

  it.each([
    ['not JSON', '{"Name": "/x"'],
    ['empty', ''],
    ['an array', '["/x"]'],
    ['null', 'null'],
    ['no Name', '{"ID":"x"}'],
    ['Name not a string', '{"Name": 5}'],
    ['empty name', '{"Name": "/"}'],
    ['control characters', JSON.stringify({ Name: '/a\u001b[2Jb' })],
    ['C1', JSON.stringify({ Name: '/a\u0085b' })],
    ['bidi override', JSON.stringify({ Name: '/evil\u202egnp.exe' })],
    ['zero-width', JSON.stringify({ Name: '/a\u200bb' })],
    ['too long', JSON.stringify({ Name: '/' + 'x'.repeat(254) })],
    ['too large a file', JSON.stringify({ Name: '/x', pad: 'y'.repeat(1024 * 1024) })],
  ])('%s -> null', (_name, text) => {
    expect(parseDockerConfigName(text)).toBeNull();
  });
});

describe('checkedName', () => {
  it('passes printable names, including non-ASCII letters, up to the limit', () => {
    expect(checkedName('café-1', 10)).toBe('café-1');
    expect(checkedName('x'.repeat(10), 10)).toBe('x'.repeat(10));
    expect(checkedName('x'.repeat(11), 10)).toBeUndefined();
    expect(checkedName('', 10)).toBeUndefined();
    expect(checkedName(5, 10)).toBeUndefined();
    for (const bad of ['\u0000', '\n', '\u007f', '\u0080', '\u009f', '\u200e', '\u200f', '\u202a', '\u202e', '\u2066', '\u2069', '\ufeff']) expect(checkedName(`a${bad}b`, 10)).toBeUndefined();
  });
});
