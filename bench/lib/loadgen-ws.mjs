// The WebSocket client of the load generator (bench/lib/loadgen.mjs): a minimal RFC 6455 client
// over node:net, written for thousands of sessions in one process on a machine shared with the
// collector it measures. What it does per frame is what a client must do, and no more:
// - the opening handshake (GET with Upgrade, a random Sec-WebSocket-Key, the caller's headers;
//   the answer must be 101 with the matching Sec-WebSocket-Accept, and no extension or
//   subprotocol, as none is offered);
// - every frame it sends is masked with a fresh random key (RFC 6455 5.3), header and masked
//   payload built in one Buffer and written with one socket.write (ws writes header and payload
//   as two writes, corked into one writev, when the key is all zero);
// - frames from the server are parsed without a stream: one read buffer shared by every socket
//   of the process (net's `onread`), only an incomplete frame is copied; fragmented messages are
//   reassembled, pings answered with a pong of the same payload, a close answered with a close
//   (the same code) and the socket ended; a masked server frame, a reserved bit or an unknown
//   opcode fails the connection (close 1002), as ws does.
import { connect as netConnect } from 'node:net';
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { endianness } from 'node:os';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
if (endianness() !== 'LE') throw new Error('loadgen-ws: masks 32 bits at a time, little-endian only');

/** One read buffer for every socket of the process: a read is parsed before the next one lands. */
const READ_BUF = Buffer.allocUnsafe(256 * 1024);

// Masking keys: 4 random bytes per frame, taken from a pool refilled from the CSPRNG (as ws does).
const KEYS = new Int32Array(16384);
let keyAt = KEYS.length;
const nextKey = () => {
  if (keyAt === KEYS.length) {
    randomFillSync(KEYS);
    keyAt = 0;
  }
  return KEYS[keyAt++];
};

/**
 * One masked client frame (FIN set) of `opcode` carrying `payload` (bytes 0..len of it): header,
 * key and masked payload in one Buffer. The payload is masked 32 bits at a time where both ends
 * are 4-byte aligned (the frame starts at an offset that makes its payload so).
 */
export function clientFrame(opcode, payload, len = payload.length) {
  const hdr = len < 126 ? 6 : len < 65536 ? 8 : 14;
  const raw = Buffer.allocUnsafe(hdr + len + 3);
  const pad = (4 - ((raw.byteOffset + hdr) & 3)) & 3;
  const out = raw.subarray(pad, pad + hdr + len);
  out[0] = 0x80 | opcode;
  if (hdr === 6) out[1] = 0x80 | len;
  else if (hdr === 8) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    out.writeUInt32BE(len >>> 0, 6);
  }
  const key = nextKey();
  out.writeInt32LE(key, hdr - 4);
  const words = len >>> 2;
  let i = 0;
  if ((payload.byteOffset & 3) === 0 && words > 0) {
    const src = new Int32Array(payload.buffer, payload.byteOffset, words);
    const dst = new Int32Array(out.buffer, out.byteOffset + hdr, words);
    for (let w = 0; w < words; w++) dst[w] = src[w] ^ key;
    i = words * 4;
  }
  const kb = [key & 255, (key >>> 8) & 255, (key >>> 16) & 255, key >>> 24];
  for (; i < len; i++) out[hdr + i] = payload[i] ^ kb[i & 3];
  return out;
}

/**
 * A WebSocket client session. Callbacks (fields, set before the socket connects): onOpen(),
 * onMessage(data, isText) where `data` is valid only during the call (it may be a view on the
 * shared read buffer), onClose(), onError(err).
 */
export class WsClient {
  onOpen = () => {};
  onMessage = () => {};
  onClose = () => {};
  onError = () => {};
  /** 'connecting', 'open', 'closing' (a close frame sent or received), 'closed'. */
  state = 'connecting';
  #socket;
  #key = randomBytes(16).toString('base64');
  #pending = null; // bytes of an incomplete handshake answer or frame (a copy)
  #fragments = null; // a fragmented message: [opcode, ...chunks]
  #closeSent = false;

  constructor(url, headers = {}) {
    const u = new URL(url);
    const port = Number(u.port || 80);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const extra = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    const request = `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${this.#key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;
    this.#socket = netConnect({ host, port, noDelay: true, onread: { buffer: READ_BUF, callback: (n, buf) => this.#read(buf.subarray(0, n)) } });
    this.#socket.on('connect', () => this.#socket.write(request));
    this.#socket.on('error', (err) => this.onError(err));
    this.#socket.on('close', () => {
      this.state = 'closed';
      this.onClose();
    });
  }

  /** Bytes written and not yet handed to the kernel (ws's bufferedAmount). */
  get bufferedAmount() {
    return this.#socket.writableLength;
  }

  /** Sends one message: a string as a text frame, bytes (0..len) as a binary frame. */
  send(data, len) {
    if (this.state !== 'open') return;
    if (typeof data === 'string') this.#socket.write(clientFrame(1, Buffer.from(data)));
    else this.#socket.write(clientFrame(2, data, len));
  }

  /** Starts the closing handshake (the server answers with its close and ends the connection). */
  close(code = 1000, reason = '') {
    if (this.state === 'closed') return;
    this.#sendClose(code, reason);
    this.state = 'closing';
  }

  #sendClose(code, reason) {
    if (this.#closeSent) return;
    this.#closeSent = true;
    const r = Buffer.from(reason);
    const body = Buffer.allocUnsafe(2 + r.length);
    body.writeUInt16BE(code, 0);
    r.copy(body, 2);
    this.#socket.write(clientFrame(8, body));
    // Bounded: a server that never answers the close loses its connection anyway.
    setTimeout(() => this.#socket.destroy(), 2000).unref();
  }

  /** Fails the connection (a close with `code`, then the end): -1, what #frame() returns then. */
  #fail(code, why) {
    this.onError(new Error(`loadgen-ws: ${why}`));
    if (this.state === 'open') this.#sendClose(code, why);
    this.state = 'closing';
    this.#socket.end();
    this.#pending = null;
    return -1;
  }

  #read(chunk) {
    let buf = chunk;
    if (this.#pending !== null) {
      buf = Buffer.concat([this.#pending, chunk]);
      this.#pending = null;
    }
    let at = 0;
    if (this.state === 'connecting') {
      at = this.#handshake(buf);
      if (at < 0) return;
    }
    while (at < buf.length && this.state !== 'closed') {
      const used = this.#frame(buf, at);
      if (used < 0) return;
      if (used === 0) break;
      at += used;
    }
    // What is left is an incomplete frame: copied (the read buffer is reused by the next read).
    if (at < buf.length && this.state !== 'closed') this.#pending = Buffer.from(buf.subarray(at));
  }

  /** Parses the server's answer to the upgrade: the offset after it, or -1 (incomplete or refused). */
  #handshake(buf) {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) {
      if (buf.length > 16384) this.#socket.destroy(new Error('loadgen-ws: handshake answer too long'));
      else this.#pending = Buffer.from(buf);
      return -1;
    }
    const lines = buf.toString('latin1', 0, end).split('\r\n');
    const headers = new Map();
    for (const l of lines.slice(1)) {
      const c = l.indexOf(':');
      if (c > 0) headers.set(l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim());
    }
    const accept = createHash('sha1')
      .update(this.#key + GUID)
      .digest('base64');
    const problem = !/^HTTP\/1\.1 101 /.test(lines[0])
      ? `unexpected answer "${lines[0]}"`
      : headers.get('upgrade')?.toLowerCase() !== 'websocket'
        ? 'no Upgrade: websocket'
        : headers.get('sec-websocket-accept') !== accept
          ? 'wrong Sec-WebSocket-Accept'
          : headers.has('sec-websocket-extensions') || headers.has('sec-websocket-protocol')
            ? 'an extension or subprotocol that was not offered'
            : null;
    if (problem !== null) {
      this.state = 'closing';
      this.#socket.destroy(new Error(`loadgen-ws: ${problem}`));
      return -1;
    }
    this.state = 'open';
    this.onOpen();
    return end + 4;
  }

  /** Handles the frame at `at` if it is complete: the bytes it took, 0 (incomplete) or -1 (the connection failed). */
  #frame(buf, at) {
    const avail = buf.length - at;
    if (avail < 2) return 0;
    const b0 = buf[at];
    const b1 = buf[at + 1];
    let len = b1 & 127;
    let hdr = 2;
    if (len === 126) {
      if (avail < 4) return 0;
      len = buf.readUInt16BE(at + 2);
      hdr = 4;
    } else if (len === 127) {
      if (avail < 10) return 0;
      len = buf.readUInt32BE(at + 2) * 2 ** 32 + buf.readUInt32BE(at + 6);
      hdr = 10;
    }
    if (avail < hdr + len) return 0;
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 15;
    if ((b1 & 0x80) !== 0) return this.#fail(1002, 'masked frame from the server');
    if ((b0 & 0x70) !== 0) return this.#fail(1002, 'reserved bits set');
    const payload = buf.subarray(at + hdr, at + hdr + len);
    if (opcode >= 8) {
      if (!fin || len > 125) return this.#fail(1002, 'fragmented or long control frame');
      if (opcode === 8) {
        const code = len >= 2 ? payload.readUInt16BE(0) : 1000;
        if (this.state === 'open') this.#sendClose(code === 1005 || code === 1006 ? 1000 : code, '');
        this.state = 'closing';
        this.#socket.end();
      } else if (opcode === 9) {
        if (!this.#closeSent) this.#socket.write(clientFrame(10, payload));
      } else if (opcode !== 10) return this.#fail(1002, `unknown opcode ${opcode}`);
      return hdr + len;
    }
    if (opcode === 0) {
      if (this.#fragments === null) return this.#fail(1002, 'continuation without a message');
      this.#fragments.push(Buffer.from(payload));
      if (fin) {
        const [op, ...parts] = this.#fragments;
        this.#fragments = null;
        if (this.state === 'open') this.onMessage(Buffer.concat(parts), op === 1);
      }
    } else if (opcode === 1 || opcode === 2) {
      if (this.#fragments !== null) return this.#fail(1002, 'new message inside a fragmented one');
      if (!fin) this.#fragments = [opcode, Buffer.from(payload)];
      else if (this.state === 'open') this.onMessage(payload, opcode === 1);
    } else return this.#fail(1002, `unknown opcode ${opcode}`);
    return hdr + len;
  }
}
