-- berth metadata, schema version 3: the event log (migrates version 2).
-- Every event berthd publishes is a row; its seq is the sequence number
-- subscribers see and resume from (`berth events --since N`). AUTOINCREMENT:
-- a number is never handed out twice, even after the oldest rows are pruned
-- or the newest one is deleted. Never edited once shipped.

CREATE TABLE events (
  seq       INTEGER PRIMARY KEY AUTOINCREMENT,
  time      INTEGER NOT NULL,  -- nanoseconds since the Unix epoch
  namespace TEXT NOT NULL,
  id        TEXT NOT NULL,     -- the task, container or image
  topic     TEXT NOT NULL,     -- "/tasks/exit", "/containers/create", ...
  payload   TEXT NOT NULL      -- JSON object: the event's own fields
) STRICT;
