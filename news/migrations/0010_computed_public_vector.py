"""The public body vector is computed by PostgreSQL, not stored (news/search.py).

At a million bulletins the stored n-gram vectors took 10 GB of TOAST, five times the text
they index. Now the GIN index is over `news_public_vector(...)`: the n-grams of the raw
title and body (`news_ngrams`, the same set as `news.search.lexemes`) minus
`hidden_lexemes` (what only the unmasked contacts hold), plus the region and category
lexemes. SQLite (`make run`) has neither functions nor index: it searches by substring.
"""

from django.contrib.postgres.indexes import GinIndex
from django.db import migrations, models

CJK = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"

# Bigrams and trigrams of every CJK run, each run's last character, ASCII words lowered
# (ASCII only, like the Python side); array_to_tsvector sorts and removes duplicates.
# COST: the planner must never choose to compute it row by row when the index can answer.
NGRAMS = rf"""
CREATE OR REPLACE FUNCTION news_ngrams(doc text) RETURNS tsvector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 10000 AS $$
  SELECT coalesce(array_to_tsvector(array_agg(g)), ''::tsvector) FROM (
    SELECT unnest(CASE WHEN i < n THEN ARRAY[substr(r, i, 2), substr(r, i, 3)]
                       ELSE ARRAY[substr(r, i, 1)] END) AS g
    FROM (SELECT m[1] AS r, length(m[1]) AS n
          FROM regexp_matches(doc, '{CJK}+', 'g') AS m) AS runs,
         generate_series(1, n) AS i
    UNION ALL
    SELECT translate(m[1], 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
    FROM regexp_matches(doc, '[0-9A-Za-z]+', 'g') AS m
  ) AS grams
$$;
"""

PUBLIC_VECTOR = r"""
CREATE OR REPLACE FUNCTION news_public_vector(
    title text, body text, hidden text,
    province bigint, city bigint, region bigint, category bigint
) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE COST 10000 AS $$
  SELECT ts_delete(news_ngrams(title || E'\n' || body), string_to_array(hidden, ' '))
         || array_to_tsvector(array_remove(
              ARRAY['~p' || province, '~c' || city, '~r' || region, '~k' || category], NULL))
$$;
"""

INDEX = """
CREATE INDEX bulletin_pub_search ON news_bulletin USING gin (
    news_public_vector(title, body, hidden_lexemes, province_id, city_id, region_id,
                       category_id)
) WHERE status = 'published';
"""

OLD_INDEX = GinIndex(
    condition=models.Q(("status", "published")),
    fields=["search_vector"],
    name="bulletin_pub_search",
)


def _on_postgres(*statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


def fill_search_columns(apps, schema_editor):
    from news.search import bulletin_index_fields

    Bulletin = apps.get_model("news", "Bulletin")
    Contact = apps.get_model("news", "Contact")
    for b in Bulletin.objects.only("id", "title", "body").iterator(chunk_size=2000):
        values = [
            v
            for row in Contact.objects.filter(bulletin_id=b.pk).values_list(
                "person", "phone", "mobile", "email"
            )
            for v in row
            if v
        ]
        fields = bulletin_index_fields(title=b.title, body=b.body, contact_values=values)
        Bulletin.objects.filter(pk=b.pk).update(
            hidden_lexemes=fields.hidden_lexemes,
            title_vector=fields.title_vector,
            contact_vector=fields.contact_vector,
        )


class Migration(migrations.Migration):
    dependencies = [("news", "0009_projects")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.RemoveIndex(model_name="bulletin", name=OLD_INDEX.name)],
            # On SQLite too: a table rebuild there had copied the index over search_vector,
            # and SQLite refuses to drop a column an index names.
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS bulletin_pub_search", migrations.RunSQL.noop
                )
            ],
        ),
        migrations.RemoveField(model_name="bulletin", name="search_vector"),
        migrations.AddField(
            model_name="bulletin",
            name="hidden_lexemes",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(fill_search_columns, migrations.RunPython.noop),
        migrations.RunPython(
            _on_postgres(NGRAMS, PUBLIC_VECTOR, INDEX),
            _on_postgres(
                "DROP INDEX IF EXISTS bulletin_pub_search",
                "DROP FUNCTION IF EXISTS news_public_vector",
                "DROP FUNCTION IF EXISTS news_ngrams",
            ),
        ),
    ]
