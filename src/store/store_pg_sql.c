/*
 * store_pg_sql.c: every SQL text of the PostgreSQL store, in one place:
 * the numbered migrations (schema_version records how many have run)
 * and the statements each connection prepares on first use
 * (store_pg_sql[], by enum store_pg_stmt). Values are always bound
 * ($1, $2, ...), never written into a text; the one statement built per
 * call, the desk's list, is assembled from fixed clauses in
 * store_pg_search.c.
 *
 * The schema follows SQLite's (store_sqlite.c), table by table and
 * column by column, so formworkctl migrate copies rows as they are and
 * every name in store_vocab.h is stored as the same word. Where
 * PostgreSQL differs:
 *   - ids and keys compare byte by byte (COLLATE "C"), as SQLite's do,
 *     so "newest first, then by id" is the same order on both;
 *   - the search index is a tsvector of the submitted values (not the
 *     field names), in a column the writer fills (a generated one
 *     before migration 4), searched through a GIN index; words are
 *     split at punctuation and white space and folded to lower case
 *     without accents, as SQLite's unicode61 tokenizer with
 *     remove_diacritics does;
 *   - the counts per review state are kept in 64 shards per (form,
 *     review), each writer connection adding to its own, once per
 *     batch (PG_COUNTS_ADD, migration 3): one counter row would make
 *     every node's writer wait for the others' commits;
 *   - a submission with everything that belongs to it (unique values,
 *     a repeat mark, jobs) is written by one function call (fw_submit),
 *     so a batch is one round trip however many submissions it holds;
 *   - jobs queued (or queued again) notify the channel formwork_jobs on
 *     commit, which every node's listener waits on;
 *   - the result pages' change counter is a row (epoch), moved in the
 *     same transaction as each change the desk makes.
 * Append only: never edit a migration that has shipped.
 */

#include <stddef.h>

#include "store/store_pg.h"

const char *const store_pg_migrations[] = {
	/* 1: the schema of SQLite's migrations 1 to 4, in one step. */
	"CREATE EXTENSION IF NOT EXISTS unaccent;"
	"CREATE FUNCTION fw_search_text(t text) RETURNS text"
	"  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE"
	"  SET search_path FROM CURRENT AS $$"
	"  SELECT lower(regexp_replace(unaccent('unaccent'::regdictionary, t),"
	"  '[[:punct:][:space:]]+', ' ', 'g')) $$;"
	"CREATE FUNCTION fw_search_vector(data text) RETURNS tsvector"
	"  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE"
	"  SET search_path FROM CURRENT AS $$"
	"  SELECT to_tsvector('simple', fw_search_text(coalesce("
	"  string_agg(v #>> '{}', ' '), '')))"
	"  FROM jsonb_path_query(data::jsonb, 'strict $.**') AS v"
	"  WHERE jsonb_typeof(v) NOT IN ('object', 'array') $$;"
	/*
	 * Every word must match, each a phrase of its parts; a word with
	 * nothing searchable in it (punctuation alone) matches nothing,
	 * as a search for it finds nothing on SQLite.
	 */
	"CREATE FUNCTION fw_search_query(words text) RETURNS tsquery"
	"  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE"
	"  SET search_path FROM CURRENT AS $$"
	"  SELECT CASE WHEN count(*) > 0 AND bool_and(numnode(q) > 0)"
	"  THEN string_agg('(' || q::text || ')', ' & ')::tsquery END"
	"  FROM (SELECT phraseto_tsquery('simple', fw_search_text(w)) AS q"
	"  FROM regexp_split_to_table(words, '\\s+') AS w"
	"  WHERE w <> '') AS t $$;"
	"CREATE TABLE submissions ("
	"  id          TEXT COLLATE \"C\" PRIMARY KEY,"
	"  form        TEXT COLLATE \"C\" NOT NULL,"
	"  submit_key  TEXT COLLATE \"C\" NOT NULL,"
	"  values_hash TEXT NOT NULL,"
	"  data        TEXT NOT NULL,"
	"  client      TEXT NOT NULL DEFAULT '',"
	"  spam        INTEGER NOT NULL DEFAULT 0,"
	"  review      TEXT COLLATE \"C\" NOT NULL DEFAULT 'new',"
	"  version     INTEGER NOT NULL DEFAULT 1,"
	"  created_at  BIGINT NOT NULL,"
	"  actions     TEXT COLLATE \"C\" NOT NULL DEFAULT 'none',"
	"  subject     TEXT,"
	"  reply_to    TEXT,"
	"  search      tsvector GENERATED ALWAYS AS"
	"              (fw_search_vector(data)) STORED,"
	"  UNIQUE (form, submit_key)"
	");"
	"CREATE INDEX submissions_created ON submissions (created_at, id);"
	"CREATE INDEX submissions_client ON submissions (client, created_at);"
	"CREATE INDEX submissions_form ON submissions (form, created_at, id);"
	"CREATE INDEX submissions_review ON submissions "
	"  (review, created_at, id);"
	"CREATE INDEX submissions_actions ON submissions "
	"  (actions, created_at, id);"
	"CREATE INDEX submissions_search ON submissions USING gin (search);"
	"CREATE TABLE unique_values ("
	"  form          TEXT COLLATE \"C\" NOT NULL,"
	"  field         TEXT COLLATE \"C\" NOT NULL,"
	"  value         TEXT COLLATE \"C\" NOT NULL,"
	"  submission_id TEXT COLLATE \"C\" NOT NULL REFERENCES submissions (id)"
	"                ON DELETE CASCADE,"
	"  PRIMARY KEY (form, field, value)"
	");"
	"CREATE INDEX unique_values_submission ON unique_values "
	"  (submission_id);"
	"CREATE TABLE submission_repeats ("
	"  form          TEXT COLLATE \"C\" NOT NULL,"
	"  digest        TEXT COLLATE \"C\" NOT NULL,"
	"  submission_id TEXT COLLATE \"C\" NOT NULL REFERENCES submissions (id)"
	"                ON DELETE CASCADE,"
	"  created_at    BIGINT NOT NULL,"
	"  PRIMARY KEY (form, digest)"
	");"
	"CREATE INDEX submission_repeats_submission ON submission_repeats "
	"  (submission_id);"
	"CREATE TABLE jobs ("
	"  id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  submission_id TEXT COLLATE \"C\" NOT NULL REFERENCES submissions (id)"
	"                ON DELETE CASCADE,"
	"  action        INTEGER NOT NULL,"
	"  kind          TEXT NOT NULL,"
	"  target        TEXT NOT NULL,"
	"  state         TEXT COLLATE \"C\" NOT NULL DEFAULT 'queued',"
	"  attempts      INTEGER NOT NULL DEFAULT 0,"
	"  max_attempts  INTEGER NOT NULL,"
	"  run_at        BIGINT NOT NULL,"
	"  lease_until   BIGINT NOT NULL DEFAULT 0,"
	"  delivery_id   TEXT NOT NULL,"
	"  last_error    TEXT,"
	"  created_at    BIGINT NOT NULL,"
	"  started_at    BIGINT,"
	"  finished_at   BIGINT"
	");"
	"CREATE INDEX jobs_due ON jobs (state, run_at);"
	"CREATE INDEX jobs_submission ON jobs (submission_id, action);"
	"CREATE TABLE webhook_endpoints ("
	"  url         TEXT PRIMARY KEY,"
	"  disabled_at BIGINT NOT NULL,"
	"  reason      TEXT NOT NULL"
	");"
	/* A submission's actions as a whole follow its jobs' states. */
	"CREATE FUNCTION fw_jobs_added() RETURNS trigger LANGUAGE plpgsql AS $$"
	"  BEGIN UPDATE submissions SET actions = 'pending'"
	"  WHERE id = new.submission_id AND actions <> 'pending';"
	"  RETURN NULL; END $$;"
	"CREATE TRIGGER jobs_added AFTER INSERT ON jobs FOR EACH ROW"
	"  EXECUTE FUNCTION fw_jobs_added();"
	"CREATE FUNCTION fw_jobs_moved() RETURNS trigger LANGUAGE plpgsql AS $$"
	"  BEGIN UPDATE submissions SET actions = (SELECT CASE"
	"  WHEN count(*) FILTER (WHERE state IN ('queued', 'running')) > 0"
	"  THEN 'pending'"
	"  WHEN count(*) FILTER (WHERE state = 'failed') > 0 THEN 'failed'"
	"  ELSE 'done' END FROM jobs WHERE submission_id = new.submission_id)"
	"  WHERE id = new.submission_id; RETURN NULL; END $$;"
	"CREATE TRIGGER jobs_moved AFTER UPDATE OF state ON jobs FOR EACH ROW"
	"  WHEN (old.state <> new.state) EXECUTE FUNCTION fw_jobs_moved();"
	/* Every node's listener learns of jobs it may run (store_jobs_wait). */
	"CREATE FUNCTION fw_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$"
	"  BEGIN PERFORM pg_notify('formwork_jobs', ''); RETURN NULL; END $$;"
	"CREATE TRIGGER jobs_queued AFTER INSERT ON jobs FOR EACH STATEMENT"
	"  EXECUTE FUNCTION fw_jobs_notify();"
	"CREATE TRIGGER jobs_requeued AFTER UPDATE OF state ON jobs FOR EACH ROW"
	"  WHEN (new.state = 'queued' AND old.state <> 'queued')"
	"  EXECUTE FUNCTION fw_jobs_notify();"
	"CREATE TABLE review_counts ("
	"  form   TEXT COLLATE \"C\" NOT NULL,"
	"  review TEXT COLLATE \"C\" NOT NULL,"
	"  shard  INTEGER NOT NULL,"
	"  n      BIGINT NOT NULL,"
	"  PRIMARY KEY (form, review, shard)"
	");"
	"CREATE FUNCTION fw_counts_kept() RETURNS trigger LANGUAGE plpgsql AS $$"
	"  BEGIN"
	"  IF tg_op <> 'INSERT' THEN"
	"  INSERT INTO review_counts VALUES (old.form, old.review,"
	"  pg_backend_pid() % 64, -1) ON CONFLICT (form, review, shard)"
	"  DO UPDATE SET n = review_counts.n - 1; END IF;"
	"  IF tg_op <> 'DELETE' THEN"
	"  INSERT INTO review_counts VALUES (new.form, new.review,"
	"  pg_backend_pid() % 64, 1) ON CONFLICT (form, review, shard)"
	"  DO UPDATE SET n = review_counts.n + 1; END IF;"
	"  RETURN NULL; END $$;"
	"CREATE TRIGGER counts_added AFTER INSERT OR DELETE ON submissions"
	"  FOR EACH ROW EXECUTE FUNCTION fw_counts_kept();"
	"CREATE TRIGGER counts_moved AFTER UPDATE OF review ON submissions"
	"  FOR EACH ROW WHEN (old.review <> new.review)"
	"  EXECUTE FUNCTION fw_counts_kept();"
	"CREATE TABLE users ("
	"  id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  name       TEXT COLLATE \"C\" NOT NULL UNIQUE,"
	"  role       TEXT NOT NULL,"
	"  pwhash     TEXT NOT NULL,"
	"  created_at BIGINT NOT NULL"
	");"
	"CREATE TABLE sessions ("
	"  token_hash TEXT PRIMARY KEY,"
	"  user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
	"  client     TEXT NOT NULL,"
	"  created_at BIGINT NOT NULL,"
	"  seen_at    BIGINT NOT NULL"
	");"
	"CREATE INDEX sessions_user ON sessions (user_id);"
	"CREATE TABLE login_failures ("
	"  subject TEXT NOT NULL,"
	"  at      BIGINT NOT NULL"
	");"
	"CREATE INDEX login_failures_subject ON login_failures (subject, at);"
	"CREATE TABLE reviews ("
	"  id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  submission_id TEXT COLLATE \"C\" NOT NULL REFERENCES submissions (id)"
	"                ON DELETE CASCADE,"
	"  version       INTEGER NOT NULL,"
	"  state_before  TEXT NOT NULL,"
	"  state         TEXT NOT NULL,"
	"  note          TEXT NOT NULL,"
	"  user_name     TEXT NOT NULL,"
	"  at            BIGINT NOT NULL"
	");"
	"CREATE INDEX reviews_submission ON reviews (submission_id, id);"
	"CREATE TABLE audit ("
	"  id        BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  at        BIGINT NOT NULL,"
	"  user_name TEXT NOT NULL,"
	"  action    TEXT NOT NULL,"
	"  subject   TEXT NOT NULL,"
	"  before    TEXT NOT NULL,"
	"  after     TEXT NOT NULL"
	");"
	"CREATE TABLE exports ("
	"  id          TEXT PRIMARY KEY,"
	"  user_name   TEXT NOT NULL,"
	"  state       TEXT NOT NULL DEFAULT 'running',"
	"  rows        BIGINT NOT NULL DEFAULT 0,"
	"  error       TEXT NOT NULL DEFAULT '',"
	"  created_at  BIGINT NOT NULL,"
	"  finished_at BIGINT"
	");"
	"CREATE TABLE epoch (n BIGINT NOT NULL);"
	"INSERT INTO epoch VALUES (0);"
	/*
	 * One submission and what belongs to it, inside the batch's
	 * transaction; the result says what became of it. A used key, a
	 * repeat or a taken unique value leaves nothing of it behind: its
	 * row goes again (and its claims and mark with it, by cascade).
	 * ON CONFLICT waits for a concurrent writer of the same key or
	 * value to end, so two nodes never both store one.
	 */
	"CREATE FUNCTION fw_submit(p_id text, p_form text, p_key text,"
	"  p_hash text, p_data text, p_client text, p_spam integer,"
	"  p_created bigint, p_subject text, p_reply_to text, p_repeat text,"
	"  p_window bigint, p_fields text[], p_values text[],"
	"  p_actions integer[], p_kinds text[], p_targets text[],"
	"  p_max integer[], p_delivery text[],"
	"  OUT result text, OUT prior_id text, OUT prior_hash text,"
	"  OUT taken integer) LANGUAGE plpgsql AS $$"
	"  BEGIN"
	"  INSERT INTO submissions (id, form, submit_key, values_hash, data,"
	"  client, spam, review, created_at, subject, reply_to) VALUES"
	"  (p_id, p_form, p_key, p_hash, p_data, p_client, p_spam,"
	"  CASE WHEN p_spam <> 0 THEN 'spam' ELSE 'new' END, p_created,"
	"  p_subject, p_reply_to) ON CONFLICT (form, submit_key) DO NOTHING;"
	"  IF NOT FOUND THEN"
	"  result := 'key_used';"
	"  SELECT s.id, s.values_hash INTO prior_id, prior_hash"
	"  FROM submissions s WHERE s.form = p_form AND s.submit_key = p_key;"
	"  RETURN; END IF;"
	"  IF p_repeat IS NOT NULL THEN"
	"  INSERT INTO submission_repeats AS r (form, digest, submission_id,"
	"  created_at) VALUES (p_form, p_repeat, p_id, p_created)"
	"  ON CONFLICT (form, digest) DO UPDATE SET"
	"  submission_id = excluded.submission_id,"
	"  created_at = excluded.created_at"
	"  WHERE r.created_at <= excluded.created_at - p_window;"
	"  IF NOT FOUND THEN"
	"  result := 'key_used';"
	"  SELECT s.id, s.values_hash INTO prior_id, prior_hash"
	"  FROM submission_repeats r JOIN submissions s"
	"  ON s.id = r.submission_id"
	"  WHERE r.form = p_form AND r.digest = p_repeat;"
	"  DELETE FROM submissions WHERE id = p_id;"
	"  RETURN; END IF; END IF;"
	"  FOR i IN 1 .. coalesce(array_length(p_fields, 1), 0) LOOP"
	"  INSERT INTO unique_values VALUES (p_form, p_fields[i], p_values[i],"
	"  p_id) ON CONFLICT DO NOTHING;"
	"  IF NOT FOUND THEN"
	"  result := 'unique_taken'; taken := i - 1;"
	"  DELETE FROM submissions WHERE id = p_id;"
	"  RETURN; END IF; END LOOP;"
	"  IF cardinality(p_actions) > 0 THEN"
	"  INSERT INTO jobs (submission_id, action, kind, target,"
	"  max_attempts, run_at, delivery_id, created_at)"
	"  SELECT p_id, a, k, t, m, p_created, d, p_created"
	"  FROM unnest(p_actions, p_kinds, p_targets, p_max, p_delivery)"
	"  AS j(a, k, t, m, d); END IF;"
	"  result := 'ok';"
	"  END $$;",

	/*
	 * 2: mail and deliveries an owner can work with, as SQLite's 5:
	 * the delivery log (a line per attempt, going with its job), the
	 * failed jobs a digest has listed (alerted_at), when the next
	 * digest may be taken on any node (alert_state), and the last
	 * hour's autoreply per address (going with its job).
	 */
	"CREATE TABLE deliveries ("
	"  id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  job_id      BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
	"  attempt     INTEGER NOT NULL,"
	"  delivery_id TEXT NOT NULL,"
	"  started_at  BIGINT NOT NULL,"
	"  duration_ms BIGINT NOT NULL,"
	"  outcome     TEXT NOT NULL,"
	"  code        INTEGER NOT NULL DEFAULT 0,"
	"  error       TEXT NOT NULL DEFAULT '',"
	"  response    TEXT NOT NULL DEFAULT ''"
	");"
	"CREATE INDEX deliveries_job ON deliveries (job_id, id);"
	"ALTER TABLE jobs ADD COLUMN alerted_at BIGINT;"
	"UPDATE jobs SET alerted_at = coalesce(finished_at, 0)"
	"  WHERE state = 'failed';"
	"CREATE INDEX jobs_unalerted ON jobs (finished_at)"
	"  WHERE state = 'failed' AND alerted_at IS NULL;"
	"CREATE TABLE alert_state ("
	"  id      INTEGER PRIMARY KEY CHECK (id = 1),"
	"  next_at BIGINT NOT NULL"
	");"
	"INSERT INTO alert_state VALUES (1, 0);"
	"CREATE TABLE autoreplies ("
	"  address TEXT PRIMARY KEY,"
	"  job_id  BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
	"  sent_at BIGINT NOT NULL"
	");"
	"CREATE INDEX autoreplies_job ON autoreplies (job_id);",

	/*
	 * 3: less work per submission, and shorter stalls (tests/bench/
	 * README.md, "Issue 15: POST on PostgreSQL"). The search functions
	 * in PL/pgSQL, the same expressions: PostgreSQL 15 parses and
	 * plans an SQL function's body each time a statement calling it
	 * starts, and each submission's INSERT is a statement of its own,
	 * where PL/pgSQL keeps its plans for the connection's life. The
	 * search index's pending list kept short (below). And the counts per
	 * review state of new submissions are added once per batch by the
	 * writer (fw_counts_add) instead of by a trigger per row; changes
	 * of review and deletions are still counted by triggers.
	 * fw_submit's own undoing of a row it has just written (a repeat,
	 * a taken unique value) goes through fw_submit_undo, which counts
	 * the row before deleting it: the batch's count will not see it,
	 * and its deletion's -1 must not be left alone.
	 */
	"CREATE OR REPLACE FUNCTION fw_search_text(t text) RETURNS text"
	"  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE"
	"  SET search_path FROM CURRENT AS $$ BEGIN"
	"  RETURN lower(regexp_replace(unaccent('unaccent'::regdictionary, t),"
	"  '[[:punct:][:space:]]+', ' ', 'g')); END $$;"
	"CREATE OR REPLACE FUNCTION fw_search_vector(data text)"
	"  RETURNS tsvector LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE"
	"  SET search_path FROM CURRENT AS $$ BEGIN"
	"  RETURN to_tsvector('simple', fw_search_text(coalesce(("
	"  SELECT string_agg(v #>> '{}', ' ')"
	"  FROM jsonb_path_query(data::jsonb, 'strict $.**') AS v"
	"  WHERE jsonb_typeof(v) NOT IN ('object', 'array')), ''))); END $$;"
	/*
	 * New entries of the search index wait in its pending list until
	 * the list outgrows this (4 MB by default), and the insert that
	 * finds it full merges it into the index, in its writer's batch:
	 * 100 ms or more at 4 MB, which set the POST's p99; at 256 kB
	 * each merge is short, and the sum of them no more.
	 */
	"ALTER INDEX submissions_search SET (gin_pending_list_limit = 256);"
	"DROP TRIGGER counts_added ON submissions;"
	"CREATE TRIGGER counts_deleted AFTER DELETE ON submissions"
	"  FOR EACH ROW EXECUTE FUNCTION fw_counts_kept();"
	/*
	 * Seq scans off: the writer's connection prepares this once, and
	 * a plan made while the table was small would read it whole at
	 * every batch for the connection's life (it did: 5 ms a batch at
	 * 15,000 rows, instead of 0.1 through the primary key).
	 */
	"CREATE FUNCTION fw_counts_add(p_ids text[]) RETURNS void"
	"  LANGUAGE plpgsql SET enable_seqscan = off AS $$ BEGIN"
	"  INSERT INTO review_counts (form, review, shard, n)"
	"  SELECT form, review, pg_backend_pid() % 64, count(*)"
	"  FROM submissions WHERE id = ANY (p_ids) GROUP BY form, review"
	"  ON CONFLICT (form, review, shard)"
	"  DO UPDATE SET n = review_counts.n + excluded.n; END $$;"
	"CREATE FUNCTION fw_submit_undo(p_id text) RETURNS void"
	"  LANGUAGE plpgsql AS $$ BEGIN"
	"  INSERT INTO review_counts SELECT form, review,"
	"  pg_backend_pid() % 64, 1 FROM submissions WHERE id = p_id"
	"  ON CONFLICT (form, review, shard)"
	"  DO UPDATE SET n = review_counts.n + 1;"
	"  DELETE FROM submissions WHERE id = p_id; END $$;"
	"CREATE OR REPLACE FUNCTION fw_submit(p_id text, p_form text,"
	"  p_key text, p_hash text, p_data text, p_client text,"
	"  p_spam integer, p_created bigint, p_subject text, p_reply_to text,"
	"  p_repeat text, p_window bigint, p_fields text[], p_values text[],"
	"  p_actions integer[], p_kinds text[], p_targets text[],"
	"  p_max integer[], p_delivery text[],"
	"  OUT result text, OUT prior_id text, OUT prior_hash text,"
	"  OUT taken integer) LANGUAGE plpgsql AS $$"
	"  BEGIN"
	"  INSERT INTO submissions (id, form, submit_key, values_hash, data,"
	"  client, spam, review, created_at, subject, reply_to) VALUES"
	"  (p_id, p_form, p_key, p_hash, p_data, p_client, p_spam,"
	"  CASE WHEN p_spam <> 0 THEN 'spam' ELSE 'new' END, p_created,"
	"  p_subject, p_reply_to) ON CONFLICT (form, submit_key) DO NOTHING;"
	"  IF NOT FOUND THEN"
	"  result := 'key_used';"
	"  SELECT s.id, s.values_hash INTO prior_id, prior_hash"
	"  FROM submissions s WHERE s.form = p_form AND s.submit_key = p_key;"
	"  RETURN; END IF;"
	"  IF p_repeat IS NOT NULL THEN"
	"  INSERT INTO submission_repeats AS r (form, digest, submission_id,"
	"  created_at) VALUES (p_form, p_repeat, p_id, p_created)"
	"  ON CONFLICT (form, digest) DO UPDATE SET"
	"  submission_id = excluded.submission_id,"
	"  created_at = excluded.created_at"
	"  WHERE r.created_at <= excluded.created_at - p_window;"
	"  IF NOT FOUND THEN"
	"  result := 'key_used';"
	"  SELECT s.id, s.values_hash INTO prior_id, prior_hash"
	"  FROM submission_repeats r JOIN submissions s"
	"  ON s.id = r.submission_id"
	"  WHERE r.form = p_form AND r.digest = p_repeat;"
	"  PERFORM fw_submit_undo(p_id);"
	"  RETURN; END IF; END IF;"
	"  FOR i IN 1 .. coalesce(array_length(p_fields, 1), 0) LOOP"
	"  INSERT INTO unique_values VALUES (p_form, p_fields[i], p_values[i],"
	"  p_id) ON CONFLICT DO NOTHING;"
	"  IF NOT FOUND THEN"
	"  result := 'unique_taken'; taken := i - 1;"
	"  PERFORM fw_submit_undo(p_id);"
	"  RETURN; END IF; END LOOP;"
	"  IF cardinality(p_actions) > 0 THEN"
	"  INSERT INTO jobs (submission_id, action, kind, target,"
	"  max_attempts, run_at, delivery_id, created_at)"
	"  SELECT p_id, a, k, t, m, p_created, d, p_created"
	"  FROM unnest(p_actions, p_kinds, p_targets, p_max, p_delivery)"
	"  AS j(a, k, t, m, d); END IF;"
	"  result := 'ok';"
	"  END $$;",

	/*
	 * 4: a batch's plain submissions (no repeat mark, no unique
	 * values: most of them) in one statement, fw_submit_plain, which
	 * PostgreSQL starts once per batch instead of once per row, with
	 * their search text made by the writer (store_pg_words.c) rather
	 * than by a query over the JSON per row. The search column is a
	 * plain one now, filled by a trigger wherever no text came with
	 * the row (fw_submit, formworkctl migrate, a shape of values the
	 * writer leaves to the database): the same function as before, so
	 * every row's vector is what the generated column made.
	 */
	"ALTER TABLE submissions ALTER COLUMN search DROP EXPRESSION;"
	"CREATE FUNCTION fw_search_filled() RETURNS trigger"
	"  LANGUAGE plpgsql AS $$ BEGIN"
	"  new.search := fw_search_vector(new.data); RETURN new; END $$;"
	"CREATE TRIGGER search_filled BEFORE INSERT ON submissions"
	"  FOR EACH ROW WHEN (new.search IS NULL)"
	"  EXECUTE FUNCTION fw_search_filled();"
	"CREATE TRIGGER search_kept BEFORE UPDATE OF data ON submissions"
	"  FOR EACH ROW WHEN (new.data IS DISTINCT FROM old.data)"
	"  EXECUTE FUNCTION fw_search_filled();"
	/*
	 * The rows come in the writer's order (n), and the first of two
	 * with one key is the one stored, as one fw_submit() after the
	 * other would. Each row not stored is returned with the holder of
	 * its key (NULL if none is left to be seen: not stored all the
	 * same); the others were stored, with their jobs (p_job_of: the
	 * row each job belongs to). A submission with jobs is written
	 * 'pending' at once, so the jobs' trigger has nothing to change.
	 */
	"CREATE FUNCTION fw_submit_plain(p_ids text[], p_forms text[],"
	"  p_keys text[], p_hashes text[], p_data text[], p_words text[],"
	"  p_clients text[], p_spam integer[], p_created bigint[],"
	"  p_subjects text[], p_reply_to text[], p_job_of integer[],"
	"  p_actions integer[], p_kinds text[], p_targets text[],"
	"  p_max integer[], p_delivery text[])"
	"  RETURNS TABLE (o integer, prior_id text, prior_hash text)"
	"  LANGUAGE plpgsql AS $$"
	"  DECLARE stored text[];"
	"  BEGIN"
	"  WITH i AS (INSERT INTO submissions (id, form, submit_key,"
	"  values_hash, data, client, spam, review, created_at, subject,"
	"  reply_to, actions, search)"
	"  SELECT u.id, u.form, u.key, u.hash, u.data, u.client, u.spam,"
	"  CASE WHEN u.spam <> 0 THEN 'spam' ELSE 'new' END, u.created,"
	"  u.subject, u.reply_to,"
	"  CASE WHEN u.n::integer = ANY (p_job_of) THEN 'pending'"
	"  ELSE 'none' END,"
	"  to_tsvector('simple', fw_search_text(u.words))"
	"  FROM unnest(p_ids, p_forms, p_keys, p_hashes, p_data, p_words,"
	"  p_clients, p_spam, p_created, p_subjects, p_reply_to)"
	"  WITH ORDINALITY AS u(id, form, key, hash, data, words, client,"
	"  spam, created, subject, reply_to, n)"
	"  ORDER BY u.n"
	"  ON CONFLICT (form, submit_key) DO NOTHING RETURNING id)"
	"  SELECT coalesce(array_agg(i.id), '{}') INTO stored FROM i;"
	"  IF cardinality(p_job_of) > 0 THEN"
	"  INSERT INTO jobs (submission_id, action, kind, target,"
	"  max_attempts, run_at, delivery_id, created_at)"
	"  SELECT p_ids[j.r], j.a, j.k, j.t, j.m, p_created[j.r], j.d,"
	"  p_created[j.r]"
	"  FROM unnest(p_job_of, p_actions, p_kinds, p_targets, p_max,"
	"  p_delivery) AS j(r, a, k, t, m, d)"
	"  WHERE p_ids[j.r] = ANY (stored); END IF;"
	"  IF cardinality(stored) < cardinality(p_ids) THEN"
	"  RETURN QUERY SELECT u.n::integer, s.id::text, s.values_hash"
	"  FROM unnest(p_ids, p_forms, p_keys) WITH ORDINALITY"
	"  AS u(id, form, key, n)"
	"  LEFT JOIN submissions s ON s.form = u.form"
	"  AND s.submit_key = u.key"
	"  WHERE NOT (u.id = ANY (stored)); END IF;"
	"  END $$;",
};

const int	store_pg_nmigrations = (int)(sizeof(store_pg_migrations) /
		    sizeof(store_pg_migrations[0]));

const char *const store_pg_sql[PG_MAX] = {
	[PG_SUBMIT] = "SELECT result, prior_id, prior_hash, taken FROM "
	    "fw_submit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
	    "$13, $14, $15, $16, $17, $18, $19)",
	/*
	 * The counts per review state of a batch's new submissions, at its
	 * end, in its transaction: what fw_submit left (its undone rows
	 * are gone again), on this connection's shard (migration 3).
	 */
	[PG_COUNTS_ADD] = "SELECT fw_counts_add($1)",
	[PG_SUBMIT_PLAIN] = "SELECT o, prior_id, prior_hash FROM "
	    "fw_submit_plain($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
	    "$12, $13, $14, $15, $16, $17)",
	[PG_KEY_FIND] = "SELECT id, values_hash FROM submissions "
	    "WHERE form = $1 AND submit_key = $2",
	[PG_REPEAT_FIND] = "SELECT s.id, s.values_hash FROM "
	    "submission_repeats r JOIN submissions s ON s.id = "
	    "r.submission_id WHERE r.form = $1 AND r.digest = $2 AND "
	    "r.created_at > $3",
	[PG_UNIQUE_CHECK] = "SELECT count(*) FROM unique_values "
	    "WHERE form = $1 AND field = $2 AND value = $3",
	[PG_CLIENT_COUNT] = "SELECT count(*) FROM submissions "
	    "WHERE client = $1 AND created_at >= $2",
	[PG_SUB_GET] = "SELECT id, form, data, spam, version, created_at, "
	    "review, client, actions, subject, reply_to FROM submissions "
	    "WHERE id = $1",
	[PG_PING] = "SELECT 1",
	[PG_EPOCH] = "SELECT n FROM epoch",
	[PG_EPOCH_BUMP] = "UPDATE epoch SET n = n + 1",
	[PG_ANALYZE] = "ANALYZE submissions",
	/* SKIP LOCKED: runners on every node claim different jobs at once. */
	[PG_JOB_CLAIM] = "UPDATE jobs SET state = 'running', "
	    "attempts = attempts + 1, lease_until = $1::bigint + $2::bigint, "
	    "started_at = $1 WHERE id = (SELECT id FROM jobs WHERE "
	    "(state = 'queued' AND run_at <= $1) OR "
	    "(state = 'running' AND lease_until < $1) ORDER BY run_at "
	    "LIMIT 1 FOR UPDATE SKIP LOCKED) "
	    "RETURNING id, submission_id, action, kind, target, attempts, "
	    "max_attempts, delivery_id, created_at",
	/*
	 * The attempt's outcome and its line in the delivery log, in one
	 * statement. The attempt guard stops a runner whose lease ran out
	 * from changing the job; its line is kept all the same, but not
	 * for a job deleted meanwhile (with its submission).
	 */
	[PG_JOB_FINISH] = "WITH f AS (UPDATE jobs SET state = $3, "
	    "last_error = $4, run_at = $5, lease_until = 0, finished_at = $6 "
	    "WHERE id = $1 AND attempts = $2) INSERT INTO deliveries (job_id, "
	    "attempt, delivery_id, started_at, duration_ms, outcome, code, "
	    "error, response) SELECT $1, $2, $7, $8, $9, $10, $11, $12, $13 "
	    "WHERE EXISTS (SELECT 1 FROM jobs WHERE id = $1)",
	[PG_JOB_RELEASE] = "UPDATE jobs SET state = 'queued', "
	    "attempts = attempts - 1, run_at = $3, lease_until = 0 "
	    "WHERE id = $1 AND attempts = $2 AND state = 'running'",
	[PG_JOB_STATUSES] = "SELECT kind, state, attempts, max_attempts, "
	    "run_at, coalesce(last_error, ''), target, id, delivery_id "
	    "FROM jobs WHERE submission_id = $1 ORDER BY action",
	[PG_JOB_COUNTS] = "SELECT state, count(*) FROM jobs GROUP BY state",
	[PG_ENDPOINT_GET] = "SELECT 1 FROM webhook_endpoints WHERE url = $1",
	[PG_ENDPOINT_DISABLE] = "INSERT INTO webhook_endpoints "
	    "(url, disabled_at, reason) VALUES ($1, $2, $3) "
	    "ON CONFLICT DO NOTHING",
	[PG_LISTEN] = "LISTEN formwork_jobs",
	[PG_AUTOREPLY_EXPIRE] = "DELETE FROM autoreplies "
	    "WHERE sent_at <= $1::bigint - $2::bigint",
	/* A concurrent claim of the address waits here for the other's end. */
	[PG_AUTOREPLY_CLAIM] = "INSERT INTO autoreplies (address, job_id, "
	    "sent_at) VALUES ($1, $2, $3) ON CONFLICT (address) DO NOTHING",
	[PG_AUTOREPLY_HOLDER] = "SELECT job_id = $2 FROM autoreplies "
	    "WHERE address = $1",
	/* Locked: one node takes a digest, the others then see it taken. */
	[PG_ALERT_DUE] = "SELECT next_at <= $1 AND (SELECT min(finished_at) "
	    "FROM jobs WHERE state = 'failed' AND alerted_at IS NULL) <= "
	    "$1::bigint - $2::bigint FROM alert_state FOR UPDATE",
	[PG_ALERT_LIST] = "SELECT j.submission_id, s.form, j.kind, j.target, "
	    "coalesce(j.last_error, ''), j.finished_at FROM jobs j "
	    "JOIN submissions s ON s.id = j.submission_id "
	    "WHERE j.state = 'failed' AND j.alerted_at IS NULL "
	    "ORDER BY j.finished_at",
	[PG_ALERT_MARK] = "UPDATE jobs SET alerted_at = $1 "
	    "WHERE state = 'failed' AND alerted_at IS NULL",
	[PG_ALERT_UNMARK] = "UPDATE jobs SET alerted_at = NULL "
	    "WHERE state = 'failed' AND alerted_at = $1",
	/* When the next digest may be taken (on any node). */
	[PG_ALERT_NEXT] = "UPDATE alert_state SET next_at = $1",

	[PG_USER_ADD] = "INSERT INTO users (name, role, pwhash, created_at) "
	    "VALUES ($1, $2, $3, $4)",
	[PG_USER_GET] = "SELECT id, name, role, pwhash, created_at "
	    "FROM users WHERE name = $1",
	[PG_USER_EACH] = "SELECT id, name, role, pwhash, created_at "
	    "FROM users ORDER BY name",
	[PG_USER_ROLE] = "UPDATE users SET role = $2 WHERE name = $1",
	/* A new password ends every session the old one opened. */
	[PG_USER_PWHASH] = "WITH u AS (UPDATE users SET pwhash = $2 "
	    "WHERE name = $1 RETURNING id), s AS (DELETE FROM sessions "
	    "WHERE user_id IN (SELECT id FROM u)) SELECT count(*) FROM u",
	/* Sessions go with the user (ON DELETE CASCADE). */
	[PG_USER_DELETE] = "DELETE FROM users WHERE name = $1",
	[PG_SESSION_ADD] = "INSERT INTO sessions (token_hash, user_id, "
	    "client, created_at, seen_at) VALUES ($1, $2, $3, $4, $4)",
	[PG_SESSION_GET] = "SELECT u.id, u.name, u.role, s.created_at, "
	    "s.seen_at FROM sessions s JOIN users u ON u.id = s.user_id "
	    "WHERE s.token_hash = $1",
	[PG_SESSION_TOUCH] = "UPDATE sessions SET seen_at = $2 "
	    "WHERE token_hash = $1",
	[PG_SESSION_DELETE] = "DELETE FROM sessions WHERE token_hash = $1",
	[PG_LOGIN_FAILURES] = "SELECT count(*), coalesce(min(at), 0) "
	    "FROM login_failures WHERE subject = $1 AND at >= $2",
	[PG_LOGIN_FAILURE_ADD] = "INSERT INTO login_failures (subject, at) "
	    "VALUES ($1, $2)",
	[PG_LOGIN_FAILURES_CLEAR] = "DELETE FROM login_failures "
	    "WHERE subject = $1",

	[PG_REVIEW_COUNTS] = "SELECT review, sum(n) FROM review_counts "
	    "WHERE $1::text IS NULL OR form = $1 GROUP BY review",
	[PG_REVIEWS_EACH] = "SELECT version, state_before, state, note, "
	    "user_name, at FROM reviews WHERE submission_id = $1 ORDER BY id",
	[PG_REVIEW_LAST] = "SELECT user_name, at FROM reviews "
	    "WHERE submission_id = $1 ORDER BY id DESC LIMIT 1",
	/* Locked: a review on another node waits, then sees the new version. */
	[PG_REVIEW_READ] = "SELECT review, version, spam, (SELECT count(*) "
	    "FROM jobs WHERE submission_id = $1) FROM submissions "
	    "WHERE id = $1 FOR UPDATE",
	[PG_REVIEW_UPDATE] = "UPDATE submissions SET review = $2, "
	    "version = version + 1 WHERE id = $1",
	[PG_REVIEW_INSERT] = "INSERT INTO reviews (submission_id, version, "
	    "state_before, state, note, user_name, at) "
	    "VALUES ($1, $2, $3, $4, $5, $6, $7)",
	[PG_JOBS_RETRY] = "UPDATE jobs SET state = 'queued', attempts = 0, "
	    "run_at = $2, lease_until = 0 "
	    "WHERE submission_id = $1 AND state = 'failed'",
	[PG_RESEND_READ] = "SELECT delivery_id, kind FROM jobs "
	    "WHERE id = $1 AND submission_id = $2 AND state = 'done' "
	    "FOR UPDATE",
	[PG_RESEND] = "UPDATE jobs SET state = 'queued', attempts = 0, "
	    "run_at = $2, lease_until = 0, delivery_id = $3, "
	    "last_error = NULL, finished_at = NULL WHERE id = $1",
	[PG_FAILED_COUNT] = "SELECT count(*) FROM jobs WHERE state = 'failed'",
	[PG_DELIVERIES_EACH] = "SELECT d.job_id, j.action, j.kind, "
	    "d.attempt, d.delivery_id, d.started_at, d.duration_ms, "
	    "d.outcome, d.code, d.error, d.response FROM jobs j "
	    "JOIN deliveries d ON d.job_id = j.id "
	    "WHERE j.submission_id = $1 ORDER BY d.started_at, d.id",
	[PG_JOB_ADD] = "INSERT INTO jobs (submission_id, action, kind, "
	    "target, max_attempts, run_at, delivery_id, created_at) "
	    "VALUES ($1, $2, $3, $4, $5, $6, $7, $6)",
	/* The audit line keeps what was deleted. */
	[PG_DELETE_AUDIT] = "INSERT INTO audit (at, user_name, action, "
	    "subject, before, after) SELECT $2, $3, 'delete', id, "
	    "form || ' ' || data, '' FROM submissions WHERE id = $1",
	[PG_SUB_DELETE] = "DELETE FROM submissions WHERE id = $1",
	[PG_AUDIT_ADD] = "INSERT INTO audit (at, user_name, action, subject, "
	    "before, after) VALUES ($1, $2, $3, $4, $5, $6)",
	[PG_AUDIT_EACH] = "SELECT id, at, user_name, action, subject, "
	    "before, after FROM audit WHERE $1::bigint = 0 OR id < $1 "
	    "ORDER BY id DESC LIMIT $2",
	[PG_EXPORT_ADD] = "INSERT INTO exports (id, user_name, created_at) "
	    "VALUES ($1, $2, $3)",
	[PG_EXPORT_FINISH] = "UPDATE exports SET state = $2, rows = $3, "
	    "error = $4, finished_at = $5 WHERE id = $1",
	[PG_EXPORTS_ABANDON] = "UPDATE exports SET state = 'failed', "
	    "error = 'Formwork restarted while it ran; export again', "
	    "finished_at = $1 WHERE state = 'running'",
	[PG_EXPORT_GET] = "SELECT state, rows, error FROM exports "
	    "WHERE id = $1",
	[PG_PRUNE_SUBMISSIONS] = "DELETE FROM submissions WHERE created_at < $1",
	[PG_PRUNE_SESSIONS] = "DELETE FROM sessions WHERE seen_at < $1",
	[PG_PRUNE_FAILURES] = "DELETE FROM login_failures WHERE at < $1",
};

const struct store_pg_table store_pg_tables[] = {
	{ "users", "id, name, role, pwhash, created_at", 1, 0, NULL },
	{ "sessions", "token_hash, user_id, client, created_at, seen_at",
	    0, 0, NULL },
	{ "submissions", "id, form, submit_key, values_hash, data, client, "
	    "spam, review, version, created_at, actions, subject, reply_to",
	    0, 0, "search_filled" },	/* its search vector: SQLite has none */
	{ "unique_values", "form, field, value, submission_id", 0, 0, NULL },
	{ "submission_repeats", "form, digest, submission_id, created_at",
	    0, 0, NULL },
	{ "jobs", "id, submission_id, action, kind, target, state, attempts, "
	    "max_attempts, run_at, lease_until, delivery_id, last_error, "
	    "created_at, started_at, finished_at, alerted_at", 1, 0, NULL },
	{ "deliveries", "id, job_id, attempt, delivery_id, started_at, "
	    "duration_ms, outcome, code, error, response", 1, 0, NULL },
	{ "autoreplies", "address, job_id, sent_at", 0, 0, NULL },
	{ "webhook_endpoints", "url, disabled_at, reason", 0, 0, NULL },
	{ "reviews", "id, submission_id, version, state_before, state, note, "
	    "user_name, at", 1, 0, NULL },
	{ "audit", "id, at, user_name, action, subject, before, after",
	    1, 0, NULL },
	{ "exports", "id, user_name, state, rows, error, created_at, "
	    "finished_at", 0, 0, NULL },
	{ "login_failures", "subject, at", 0, 0, NULL },
	{ "alert_state", "id, next_at", 0, 1, NULL },
};
