"""Deadlines (投标截止, 开标时间, 报名截止) measured on a labelled set of notice bodies.

news/tests/data/deadline_pages.jsonl: snippets of tender and award bodies in the forms
notices use, each with the values a reader takes from it (null where absent), including
dates that are not deadlines (发布日期, 工期, 开工日期, 公示期, 质疑截止, a correction's 原…).
The oracle is the labels only. Targets per field: precision ≥ 0.98, recall ≥ 0.9.
"""

import datetime
import json
from pathlib import Path

import pytest

from news.importing.parser import parse_text

DATA = Path(__file__).parent / "data" / "deadline_pages.jsonl"
FIELDS = {
    "bid_deadline": "deadline",
    "opening_at": "opening_at",
    "registration_deadline": "registration_deadline",
}
TARGET_PRECISION, TARGET_RECALL = 0.98, 0.9


def _labelled():
    with DATA.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def _page(body: str) -> str:
    return "\n".join(
        [
            "某某工程施工招标公告",
            "2024-10-12 江苏-镇江-镇江新区",
            "所在地区: 江苏-镇江-镇江新区 发布日期: 2024年10月12日",
            "招标公告正文",
            body,
            "http://example.com/a.html",
        ]
    )


def _measure(rows, label_field):
    attribute = FIELDS[label_field]
    found = correct = expected = 0
    wrong = []
    for row in rows:
        want = row[label_field]
        want = datetime.datetime.fromisoformat(want) if want else None
        got = getattr(parse_text(_page(row["text"])), attribute)
        expected += want is not None
        if got is not None:
            found += 1
            correct += got == want
            if got != want:
                wrong.append((row["id"], got and got.isoformat(), want and want.isoformat()))
        elif want is not None:
            wrong.append((row["id"], None, want.isoformat()))
    return correct / max(found, 1), correct / max(expected, 1), expected, wrong


def test_the_labelled_set_is_big_and_varied_enough():
    rows = _labelled()
    assert len(rows) >= 50
    for label_field in FIELDS:
        present = sum(row[label_field] is not None for row in rows)
        assert present >= 15, label_field  # enough to measure recall
        assert len(rows) - present >= 15, label_field  # and traps to measure precision


@pytest.mark.parametrize("label_field", list(FIELDS))
def test_precision_and_recall_per_field(label_field):
    precision, recall, expected, wrong = _measure(_labelled(), label_field)
    assert precision >= TARGET_PRECISION, f"{label_field} precision {precision:.3f}: {wrong}"
    assert recall >= TARGET_RECALL, f"{label_field} recall {recall:.3f} of {expected}: {wrong}"


def test_deadlines_are_shanghai_time():
    parsed = parse_text(_page("投标截止时间:2024-11-04 09:30\n开标时间:2024年11月4日上午9:30"))
    assert parsed.deadline.tzinfo.key == "Asia/Shanghai"
    assert parsed.deadline.isoformat() == "2024-11-04T09:30:00+08:00"
    assert parsed.opening_at == parsed.deadline


@pytest.mark.django_db
def test_an_import_stores_the_three_deadlines(tmp_path):
    import io

    from django.core.management import call_command

    from news.models import Bulletin

    body = (
        "招标文件获取时间:2024年10月14日至2024年10月18日。\n"
        "投标文件递交截止时间:2024年11月4日9时30分(北京时间)。\n"
        "开标时间:2024年11月4日上午10:00。\n计划开工日期:2025年1月1日。"
    )
    (tmp_path / "a.txt").write_text(_page(body), encoding="utf-8")
    call_command("import_bulletins", str(tmp_path), "--json", stdout=io.StringIO())
    bulletin = Bulletin.objects.get()
    assert bulletin.registration_deadline.isoformat() == "2024-10-18T15:59:00+00:00"
    assert bulletin.bid_deadline.isoformat() == "2024-11-04T01:30:00+00:00"
    assert bulletin.opening_at.isoformat() == "2024-11-04T02:00:00+00:00"
    # The bulletin's page names all three, in Shanghai time.
    from django.test import Client

    page = Client().get(bulletin.get_absolute_url()).content.decode()
    for label, shown in (
        ("报名截止时间", "2024-10-18 23:59"),
        ("投标截止时间", "2024-11-04 09:30"),
        ("开标时间", "2024-11-04 10:00"),
    ):
        assert f"<dt>{label}</dt><dd><time" in page and shown in page, label
