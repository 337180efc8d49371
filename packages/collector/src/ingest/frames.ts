/**
 * The collector's frames to an agent, written whole. ws's Sender writes every server frame as its
 * header and its payload, corked: two writes that leave as one writev. At 10,000 agents a second
 * the acks alone were the largest item of the collector's main thread (bench/NOTES.md, "ingestlat":
 * writev 16%). Here a frame is built in one Buffer and written with one socket.write, the same
 * bytes on the wire (RFC 6455 5.2: FIN, text opcode, unmasked as a server's frames are).
 *
 * Only for a socket on which ws negotiated no extension (the server turns permessage-deflate
 * off) and to which the session sends strings only: ws's Sender then never queues (it queues
 * only while compressing or reading a Blob), every frame of it goes to the socket at once, and
 * a frame written here keeps its place among ws's pings and close frames. Errors of the write
 * reach the socket's 'error' listener, which ws set up (it destroys the socket, as for its own
 * writes); ws.bufferedAmount counts what the socket holds, so backpressure sees these frames too.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/** First byte of a final text frame (FIN + opcode 0x1). */
const FIN_TEXT = 0x81;

/** One final, unmasked text frame holding `text` (UTF-8): header (2, 4 or 10 bytes) and payload in one Buffer. */
export function textFrame(text: string): Buffer {
  const len = Buffer.byteLength(text, 'utf8');
  const head = len < 126 ? 2 : len < 65_536 ? 4 : 10;
  const buf = Buffer.allocUnsafe(head + len);
  buf[0] = FIN_TEXT;
  if (head === 2) {
    buf[1] = len;
  } else if (head === 4) {
    buf[1] = 126;
    buf.writeUInt16BE(len, 2);
  } else {
    buf[1] = 127;
    buf.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    buf.writeUInt32BE(len >>> 0, 6);
  }
  buf.write(text, head, len, 'utf8');
  return buf;
}

/**
 * The upgraded socket a session may write its frames to directly: `socket` when ws negotiated no
 * extension on it, else null (frames then go through ws.send).
 */
export function directSocket(ws: WebSocket, socket: Duplex): Duplex | null {
  return ws.extensions === '' ? socket : null;
}

/**
 * Sends `text` as one text frame: written whole to `direct` (directSocket), else by ws.send. The
 * caller has checked that `ws` is OPEN (nothing is written after a close frame: ws.close() leaves
 * OPEN before it writes one). A destroyed socket is not written to.
 */
export function sendText(ws: WebSocket, direct: Duplex | null, text: string): void {
  if (direct === null) ws.send(text);
  else if (!direct.destroyed) direct.write(textFrame(text));
}

/**
 * The JSON of an `ack` (docs/protocol.md), as JSON.stringify writes `{type, id, stored, duplicates}`
 * for integers, without the object and the walk over it.
 */
export function ackJson(id: number, stored: number, duplicates: number): string {
  return `{"type":"ack","id":${id},"stored":${stored},"duplicates":${duplicates}}`;
}
