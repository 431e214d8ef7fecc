-- berth metadata, schema version 1 (PRAGMA user_version = 1).
-- Applied in one transaction to an empty database. Later versions add a
-- schema_v<N>.sql that migrates N-1 to N; this file never changes.
-- Times are nanoseconds since the Unix epoch; JSON columns hold text.

CREATE TABLE namespaces (
  name    TEXT NOT NULL PRIMARY KEY,
  labels  TEXT NOT NULL,   -- JSON object, string to string
  created INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE containers (
  namespace       TEXT NOT NULL REFERENCES namespaces (name),
  id              TEXT NOT NULL,
  image           TEXT NOT NULL,
  runtime         TEXT NOT NULL,
  runtime_options TEXT NOT NULL,  -- JSON, or '' for none
  spec            TEXT NOT NULL,  -- OCI runtime spec JSON, or ''
  snapshot_key    TEXT NOT NULL,
  labels          TEXT NOT NULL,  -- JSON object
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  PRIMARY KEY (namespace, id)
) STRICT, WITHOUT ROWID;

-- One task per container, keyed like it.
CREATE TABLE tasks (
  namespace        TEXT NOT NULL,
  id               TEXT NOT NULL,
  shim_address     TEXT NOT NULL,
  shim_pid         INTEGER NOT NULL,
  pid              INTEGER NOT NULL,
  status           TEXT NOT NULL,  -- created, running, paused, stopped, created_checkpoint
  exit_code        INTEGER NOT NULL,
  exit_signal      INTEGER NOT NULL,
  exited_at        INTEGER NOT NULL,  -- 0 until the task exits
  exit_reason      TEXT NOT NULL,
  last_acked_event INTEGER NOT NULL,  -- highest shim event sequence acknowledged
  PRIMARY KEY (namespace, id),
  FOREIGN KEY (namespace, id) REFERENCES containers (namespace, id)
) STRICT, WITHOUT ROWID;
