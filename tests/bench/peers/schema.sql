-- The submissions table both peers write (migration 1 of Formwork's own
-- store, as tests/bench/ref_sqlite.c has it too).
CREATE TABLE IF NOT EXISTS submissions (
  id TEXT PRIMARY KEY, form TEXT NOT NULL, submit_key TEXT NOT NULL,
  values_hash TEXT NOT NULL, data TEXT NOT NULL,
  client TEXT NOT NULL DEFAULT '', spam INTEGER NOT NULL DEFAULT 0,
  review TEXT NOT NULL DEFAULT 'new', version INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL, UNIQUE (form, submit_key));
CREATE INDEX IF NOT EXISTS submissions_created ON submissions (created_at, id);
CREATE INDEX IF NOT EXISTS submissions_client ON submissions (client, created_at);
