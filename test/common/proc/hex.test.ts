import { describe, expect, it } from 'vitest';
import { formatIPv6, hexPort, hexToIPv4, hexToIPv6 } from '@tcpfleet/common';

describe('address and port decoding (little-endian kernel words)', () => {
  it.each([
    { name: 'loopback', hex: '0100007F', want: '127.0.0.1' },
    { name: 'any', hex: '00000000', want: '0.0.0.0' },
    { name: 'a private address', hex: '0A01A8C0', want: '192.168.1.10' },
    { name: 'not hex', hex: '0100007G', want: null },
    { name: 'too short', hex: '0100007', want: null },
  ])('IPv4 $name: $hex -> $want', ({ hex, want }) => expect(hexToIPv4(hex, true)).toBe(want));

  it.each([
    { name: 'loopback ::1', hex: '00000000000000000000000001000000', want: '::1' },
    { name: 'any ::', hex: '00000000000000000000000000000000', want: '::' },
    { name: 'IPv4-mapped', hex: '0000000000000000FFFF00000100007F', want: '::ffff:127.0.0.1' },
    { name: 'documentation prefix', hex: 'B80D0120000000000000000001000000', want: '2001:db8::1' },
    { name: 'not hex', hex: 'X0000000000000000000000001000000', want: null },
  ])('IPv6 $name', ({ hex, want }) => expect(hexToIPv6(hex, true)).toBe(want));

  it.each([
    { hex: '0016', want: 22 },
    { hex: 'FFFF', want: 65535 },
    { hex: '01bb', want: 443 },
    { hex: '01B', want: null },
  ])('port $hex -> $want', ({ hex, want }) => expect(hexPort(hex)).toBe(want));

  it('compresses the longest zero run only', () => {
    expect(formatIPv6([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1])).toBe('2001:db8:0:1::1');
  });
});

describe('HEX_PAIR_VALUE', () => {
  it('is the value of every pair of hex digits and -1 for all 65,536 - 484 other pairs', async () => {
    const { HEX_PAIR_VALUE, HEX_VALUE } = await import('@tcpfleet/common');
    let digits = 0;
    for (let x = 0; x < 256; x++) {
      for (let y = 0; y < 256; y++) {
        const want = HEX_VALUE[x]! >= 0 && HEX_VALUE[y]! >= 0 ? parseInt(String.fromCharCode(x, y), 16) : -1;
        if (HEX_PAIR_VALUE[(x << 8) | y] !== want) throw new Error(`pair ${x},${y}: ${HEX_PAIR_VALUE[(x << 8) | y]} != ${want}`);
        if (want >= 0) digits++;
      }
    }
    expect(digits).toBe(22 * 22);
  });
});
