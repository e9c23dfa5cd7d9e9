-- Issue 18 probes at the SQL level (BENCHMARKS.md, "Search storage and query mix"):
--
--   psql postgres://postgres@127.0.0.1:5432/portal_bench1m -v term="'程监'" -v rare="'下综'" \
--        -f bench/search_options.sql
--
-- term: a lexeme many bulletins hold (~16 %); rare: one a few hold (~3 %). As the portal's
-- connections run: work_mem 16MB, no JIT. Read-only, except (a) at the end, which adds an
-- extended statistics object and re-analyses news_bulletin (minutes at 1M: see the notes).
\set V 'news_public_vector(title, body, hidden_lexemes, province_id, city_id, region_id, category_id)'
SET work_mem = '16MB';
SET jit = off;
\timing on

\echo '--- the planner''s estimate of each lexeme (rows) and the truth'
EXPLAIN SELECT 1 FROM news_bulletin WHERE status = 'published' AND :V @@ :term::tsquery;
EXPLAIN SELECT 1 FROM news_bulletin WHERE status = 'published' AND :V @@ :rare::tsquery;
SELECT count(*) FILTER (WHERE :V @@ :term::tsquery) AS term_rows,
       count(*) FILTER (WHERE :V @@ :rare::tsquery) AS rare_rows
FROM news_bulletin WHERE status = 'published' AND :V @@ (:term || ' | ' || :rare)::tsquery;

\echo '--- the newest 1,000 matches (what relevance ranks), as the app asks: bitmaps only'
BEGIN;
SET LOCAL enable_indexscan = off;
SET LOCAL enable_seqscan = off;
EXPLAIN (ANALYZE, BUFFERS)
SELECT id FROM news_bulletin
WHERE published_at <= now() AND status = 'published' AND :V @@ :term::tsquery
ORDER BY published_at DESC, id DESC LIMIT 1000;
COMMIT;

\echo '--- the same within a date window holding ~2x the rows needed: does the planner AND it?'
SELECT published_at AS since FROM news_bulletin WHERE status = 'published'
ORDER BY published_at DESC, id DESC OFFSET 12500 LIMIT 1 \gset
BEGIN;
SET LOCAL enable_indexscan = off;
SET LOCAL enable_seqscan = off;
EXPLAIN (ANALYZE, BUFFERS)
SELECT id FROM news_bulletin
WHERE published_at <= now() AND published_at >= :'since' AND status = 'published'
  AND :V @@ :term::tsquery
ORDER BY published_at DESC, id DESC LIMIT 1000;
COMMIT;

\echo '--- GIN fast scan on real data: the term AND a rare lexeme of the same vector (a city)'
SELECT city_id FROM news_bulletin WHERE status = 'published' AND city_id IS NOT NULL
GROUP BY 1 ORDER BY count(*) DESC LIMIT 1 OFFSET 40 \gset
BEGIN;
SET LOCAL enable_indexscan = off;
SET LOCAL enable_seqscan = off;
EXPLAIN (ANALYZE, BUFFERS) SELECT count(*) FROM news_bulletin
WHERE status = 'published' AND :V @@ (:term || ' & ''~c' || :city_id || '''')::tsquery;
EXPLAIN (ANALYZE, BUFFERS) SELECT count(*) FROM news_bulletin
WHERE status = 'published' AND :V @@ ('''~c' || :city_id || '''')::tsquery;
EXPLAIN (ANALYZE, BUFFERS) SELECT count(*) FROM news_bulletin
WHERE status = 'published' AND :V @@ :term::tsquery;
COMMIT;

\echo '--- (a) exact estimates without an index: statistics of the expression, target 600'
\echo '    (ANALYZE then computes the n-grams of 180,000 sampled rows: minutes at 1M)'
CREATE STATISTICS IF NOT EXISTS bulletin_public_vector_stats ON (
    news_public_vector(title, body, hidden_lexemes, province_id, city_id, region_id, category_id)
) FROM news_bulletin;
ALTER STATISTICS bulletin_public_vector_stats SET STATISTICS 600;
ANALYZE news_bulletin;
EXPLAIN SELECT 1 FROM news_bulletin WHERE status = 'published' AND :V @@ :term::tsquery;
EXPLAIN SELECT 1 FROM news_bulletin WHERE status = 'published' AND :V @@ :rare::tsquery;
BEGIN;
SET LOCAL enable_indexscan = off;
SET LOCAL enable_seqscan = off;
EXPLAIN (ANALYZE, BUFFERS)
SELECT id FROM news_bulletin
WHERE published_at <= now() AND published_at >= :'since' AND status = 'published'
  AND :V @@ :term::tsquery
ORDER BY published_at DESC, id DESC LIMIT 1000;
COMMIT;
-- To undo: DROP STATISTICS bulletin_public_vector_stats; ANALYZE news_bulletin;
