/** The database layer: opening META_URLs, the schema, migrations, error classes, retries. */
export { openDatabase, parseMetaUrl, MetaUrlError, MetaUnavailableError, MetaNotFoundError, type OpenDatabase, type MetaUrl, type OpenDatabaseOptions } from './open-database.js';
export { DirLockedError } from './dir-lock.js';
export { migrateToLatest, appliedMigrations, SCHEMA_VERSION } from './migrate.js';
export { dropSchema, OBJECTFS_TABLES, type DroppedSchema } from './drop-schema.js';
export { sqlState, isRetryableConflict, isUniqueViolation, isConnectionLost, isUndefinedTable } from './pg-errors.js';
export type { Database, ChunkTable, EdgeTable, FileLockTable, NodeTable, SliceRefTable, SymlinkTable, VolumeTable, XattrTable } from './schema.js';
export type { ChannelHandlers, ChannelListener } from './listener.js';
