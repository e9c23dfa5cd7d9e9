-- Issue 18, option (d): a week lexeme in the public vector, so that "the newest N matches of
-- a common term" is one GIN scan that skips through the term's postings (BENCHMARKS.md).
--
--   psql postgres://postgres@127.0.0.1:5432/portal_bench1m -v term="'''程监'''" -v weeks=3 \
--        -f bench/search_weeks.sql
--
-- Builds a second GIN index next to bulletin_pub_search (the n-gram function once per row:
-- ~20 min at 1M on a quiet machine; ~1.4 GB): drop it after with
--   DROP INDEX bulletin_pub_search_w; DROP FUNCTION news_public_vector_w;
-- weeks: how many of the newest weeks the window holds (a 16 % term at 1M: ~2 for 1,000).
CREATE OR REPLACE FUNCTION news_public_vector_w(
    title text, body text, hidden text,
    province bigint, city bigint, region bigint, category bigint, published timestamptz
) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE COST 10000 AS $$
  SELECT news_public_vector(title, body, hidden, province, city, region, category)
         || array_to_tsvector(ARRAY['~w' || floor(extract(epoch FROM published) / 604800)::bigint])
$$;
\set W 'news_public_vector_w(title, body, hidden_lexemes, province_id, city_id, region_id, category_id, published_at)'
\set V 'news_public_vector(title, body, hidden_lexemes, province_id, city_id, region_id, category_id)'
SET maintenance_work_mem = '1GB';
SET work_mem = '16MB';
SET jit = off;
\timing on
CREATE INDEX IF NOT EXISTS bulletin_pub_search_w ON news_bulletin USING gin (:W)
WHERE status = 'published';
SELECT pg_size_pretty(pg_relation_size('bulletin_pub_search_w')) AS size_w,
       pg_size_pretty(pg_relation_size('bulletin_pub_search')) AS size_current;

SELECT :term || ' & (' || string_agg('''~w' || w || '''', ' | ') || ')' AS windowed
FROM generate_series(floor(extract(epoch FROM now()) / 604800)::bigint - (:weeks - 1),
                     floor(extract(epoch FROM now()) / 604800)::bigint) AS w \gset

BEGIN;
SET LOCAL enable_indexscan = off;
SET LOCAL enable_seqscan = off;
\echo '--- newest 1,000 within the newest weeks (fewer than 1,000: the app would widen)'
EXPLAIN (ANALYZE, BUFFERS)
SELECT id FROM news_bulletin
WHERE status = 'published' AND published_at <= now() AND :W @@ :'windowed'::tsquery
ORDER BY published_at DESC, id DESC LIMIT 1000;
\echo '--- as today'
EXPLAIN (ANALYZE, BUFFERS)
SELECT id FROM news_bulletin
WHERE status = 'published' AND published_at <= now() AND :V @@ :term::tsquery
ORDER BY published_at DESC, id DESC LIMIT 1000;
\echo '--- the same rows? (0 = yes, when the window holds 1,000)'
SELECT count(*) AS differing FROM (
  SELECT id FROM news_bulletin
  WHERE status = 'published' AND published_at <= now() AND :W @@ :'windowed'::tsquery
  ORDER BY published_at DESC, id DESC LIMIT 1000
) AS a FULL JOIN (
  SELECT id FROM news_bulletin
  WHERE status = 'published' AND published_at <= now() AND :V @@ :term::tsquery
  ORDER BY published_at DESC, id DESC LIMIT 1000
) AS b USING (id) WHERE a.id IS NULL OR b.id IS NULL;
COMMIT;
