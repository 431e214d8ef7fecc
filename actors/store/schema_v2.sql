-- berth metadata, schema version 2: image records (migrates version 1).
-- An image is a name in a namespace pointing at a manifest digest in the
-- content store; several names may share a target. Never edited once shipped.

CREATE TABLE images (
  namespace  TEXT NOT NULL REFERENCES namespaces (name),
  name       TEXT NOT NULL,   -- normalised: docker.io/library/busybox:latest
  target     TEXT NOT NULL,   -- manifest digest, sha256:<64 hex>
  media_type TEXT NOT NULL,   -- the manifest's media type
  size       INTEGER NOT NULL, -- manifest + config + layers, bytes
  labels     TEXT NOT NULL,   -- JSON object
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, name)
) STRICT, WITHOUT ROWID;

-- Garbage collection asks which targets are still named, across namespaces.
CREATE INDEX images_by_target ON images (target);
