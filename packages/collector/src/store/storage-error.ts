/**
 * The one error of every store driver: a storage failure, `retryable` when trying again later can
 * succeed (SQLite busy or I/O, PostgreSQL gone or restarting). `sqliteCode` is the driver's own code
 * (an SQLite result code, a PostgreSQL SQLSTATE, or the store's: SCHEMA, CLOSED, WRITE_THREAD); agents
 * see it in a nack's `code`.
 */
import { TcpfleetError } from '@tcpfleet/common';

export class StorageError extends TcpfleetError {
  override name = 'StorageError';
  readonly retryable: boolean;
  readonly sqliteCode: string;
  constructor(message: string, sqliteCode: string, retryable: boolean, options?: ErrorOptions) {
    super('TCPFLEET_ERR_STORAGE', message, options);
    this.retryable = retryable;
    this.sqliteCode = sqliteCode;
  }
}
