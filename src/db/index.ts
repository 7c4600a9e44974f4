/** The database layer: opening META_URLs, the schema, migrations, error classes, retries. */
export { openDatabase, parseMetaUrl, MetaUrlError, MetaUnavailableError, MetaNotFoundError, type OpenDatabase, type MetaUrl, type OpenDatabaseOptions } from './open-database.js';
export { DirLockedError } from './dir-lock.js';
export { migrateToLatest, appliedMigrations, SCHEMA_VERSION } from './migrate.js';
export { dropSchema, OBJECTFS_TABLES, type DroppedSchema } from './drop-schema.js';
export { sqlState, isRetryableConflict, isUniqueViolation, isConnectionLost, isUndefinedTable } from './pg-errors.js';
export type { Database, ChunkTable, EdgeTable, FileLockTable, NodeTable, SliceRefTable, SymlinkTable, VolumeTable, XattrTable } from './schema.js';
export type { ChannelHandlers, ChannelListener } from './listener.js';
export { dumpDatabase, DumpRefusedError, type DumpSummary } from './dump-writer.js';
export { loadDatabase, type LoadSummary } from './dump-loader.js';
export { dumpLines } from './dump-lines.js';
export { DumpFormatError, DUMP_FORMAT_VERSION } from './dump-codec.js';
export { DUMP_ROLES } from './dump-tables.js';
