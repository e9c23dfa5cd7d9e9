"""A week lexeme in the public vector, so the newest matches of a common term are found by
skipping through its postings (news/search_windows.py).

The index is rebuilt (the n-gram function once per published row: ~20 min per million on
two quiet cores). It is built CONCURRENTLY under a new name, so the site keeps searching
with the old index meanwhile, then swapped in: run `migrate` before starting the new code
(until it has, the new code's expression has no index and searches compute it row by row).
"""

from django.db import migrations

PUBLIC_VECTOR_WEEKS = r"""
CREATE OR REPLACE FUNCTION news_public_vector(
    title text, body text, hidden text,
    province bigint, city bigint, region bigint, category bigint, published timestamptz
) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE COST 10000 AS $$
  SELECT news_public_vector(title, body, hidden, province, city, region, category)
         || array_to_tsvector(array_remove(
              ARRAY['~w' || floor(extract(epoch FROM published) / 604800)::bigint], NULL))
$$;
"""

BUILD = """
CREATE INDEX CONCURRENTLY bulletin_pub_search_weeks ON news_bulletin USING gin (
    news_public_vector(title, body, hidden_lexemes, province_id, city_id, region_id,
                       category_id, published_at)
) WHERE status = 'published';
"""
SWAP = [
    "DROP INDEX CONCURRENTLY IF EXISTS bulletin_pub_search",
    "ALTER INDEX bulletin_pub_search_weeks RENAME TO bulletin_pub_search",
]
UNBUILD = """
CREATE INDEX CONCURRENTLY bulletin_pub_search_days ON news_bulletin USING gin (
    news_public_vector(title, body, hidden_lexemes, province_id, city_id, region_id,
                       category_id)
) WHERE status = 'published';
"""
UNSWAP = [
    "DROP INDEX CONCURRENTLY IF EXISTS bulletin_pub_search",
    "ALTER INDEX bulletin_pub_search_days RENAME TO bulletin_pub_search",
    "DROP FUNCTION IF EXISTS news_public_vector(text, text, text, bigint, bigint, bigint, "
    "bigint, timestamptz)",
]


def _on_postgres(*statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute("SET maintenance_work_mem = '1GB'")
                for statement in statements:
                    cursor.execute(statement)

    return run


class Migration(migrations.Migration):
    atomic = False  # CREATE / DROP INDEX CONCURRENTLY

    dependencies = [("news", "0013_bulletin_mask_plan")]

    operations = [
        migrations.RunPython(
            # A failed concurrent build leaves an invalid index behind: never rename that.
            _on_postgres(
                PUBLIC_VECTOR_WEEKS,
                "DROP INDEX CONCURRENTLY IF EXISTS bulletin_pub_search_weeks",
                BUILD,
                *SWAP,
            ),
            _on_postgres(
                "DROP INDEX CONCURRENTLY IF EXISTS bulletin_pub_search_days", UNBUILD, *UNSWAP
            ),
        )
    ]
