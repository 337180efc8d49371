/**
 * The only file access of common: bounded reads under a procfs root.
 *
 * The root is never hard-coded: /proc by default, /proc/PID to observe the network namespace of
 * process PID, /host/proc from inside a container, or a fixture tree in tests.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { TcpfleetError } from '../errors.js';

/** Largest small /proc file read (sockstat, snmp, netstat are a few KiB). */
export const MAX_SMALL_FILE = 1024 * 1024;
/** Chunk size for streaming files such as net/tcp: the agent's memory stays fixed whatever the file size. */
export const CHUNK_BYTES = 256 * 1024;

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Opens a /proc file; null when it does not exist, TCPFLEET_ERR_PROC_READ otherwise. */
function openProc(path: string): number | null {
  try {
    return openSync(path, 'r');
  } catch (err) {
    if (isMissing(err)) return null;
    throw new TcpfleetError('TCPFLEET_ERR_PROC_READ', `cannot open ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** One read buffer for every small file (reads are synchronous): the agent reads a few per namespace per interval. */
const scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * Reads `root/rel` whole, up to `maxBytes`; returns null when the file does not exist (IPv6 off,
 * for example). Throws TCPFLEET_ERR_PROC_READ on other errors or when the file is too large.
 */
export function readProcFile(root: string, rel: string, maxBytes = MAX_SMALL_FILE): string | null {
  const path = join(root, rel);
  const fd = openProc(path);
  if (fd === null) return null;
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    const buf = scratch;
    for (;;) {
      const n = readChunk(fd, path, buf);
      if (n === 0) break;
      total += n;
      if (total > maxBytes) throw new TcpfleetError('TCPFLEET_ERR_PROC_READ', `${path} is larger than ${maxBytes} bytes`);
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    return Buffer.concat(chunks).toString('latin1');
  } finally {
    closeSync(fd);
  }
}

/**
 * Streams `root/rel` through `onChunk` in fixed-size chunks, reusing one buffer. Returns the
 * number of bytes read, or null when the file does not exist.
 */
export function streamProcFile(root: string, rel: string, onChunk: (chunk: Buffer) => void, buffer: Buffer = Buffer.allocUnsafe(CHUNK_BYTES)): number | null {
  const path = join(root, rel);
  const fd = openProc(path);
  if (fd === null) return null;
  let total = 0;
  try {
    for (;;) {
      const n = readChunk(fd, path, buffer);
      if (n === 0) break;
      total += n;
      onChunk(buffer.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return total;
}

/** One read; an error names the file (a directory or an unreadable file where /proc has one). */
function readChunk(fd: number, path: string, buf: Buffer): number {
  try {
    return readSync(fd, buf, 0, buf.length, null);
  } catch (err) {
    throw new TcpfleetError('TCPFLEET_ERR_PROC_READ', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}
