/**
 * `tcpfleet host rm ID [--purge]`: removes a host from the fleet, straight in the database (a
 * running collector drops it from memory within 2 s). Without --purge its latest row goes and its
 * history stays until retention; with --purge everything stored about it goes. An agent still
 * sending as that host brings it back with its next batch: revoke its token first.
 */
import { TcpfleetError, printable } from '@tcpfleet/common';
import { openStore } from '../store/open-store.js';
import { checkHost } from './token.js';

export async function hostRmCmd(db: string, host: string, purge: boolean, json: boolean): Promise<void> {
  checkHost(host);
  const store = await openStore(db);
  try {
    const r = await store.removeHost(host, { purge, now: Date.now() });
    if (!r.found) throw new TcpfleetError('TCPFLEET_ERR_NOT_FOUND', `no host ${printable(host)} in ${store.where}`);
    if (json) process.stdout.write(JSON.stringify({ host, purged: purge, deleted: { latest: r.latest, snapshots: r.snapshots, rollups: r.rollups, gaps: r.gaps, namespaces: r.namespaces } }) + '\n');
    else
      process.stderr.write(
        purge
          ? `host ${host} purged: ${r.snapshots} snapshots, ${r.rollups} rollup rows, ${r.gaps} gaps and ${r.namespaces} namespace rows deleted\n`
          : `host ${host} removed from the fleet; its history stays until retention (--purge deletes it)\n`,
      );
  } finally {
    await store.close();
  }
}
