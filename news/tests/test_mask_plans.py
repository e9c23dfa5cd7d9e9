"""Stored mask plans: pages cut the text along them only when they were found for exactly
that text, those contacts and these rules; otherwise the text is masked live."""

import json
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from news import mask_plans
from news.mask_plans import mask_plan, masked_title_body
from news.masking import mask_text
from news.models import Bulletin
from news.tests.factories import BulletinFactory, ContactFactory

LINES = Path(__file__).parent / "data" / "contact_lines.jsonl"
BODY = "一、项目概况\n\n道路全长约2.6公里。\n\n二、联系方式\n\n联系人：王建明\n电话：0511-83000001"


def test_a_fresh_plan_masks_exactly_as_masking_live():
    cases = [json.loads(line) for line in LINES.read_text().splitlines() if line.strip()]
    body = "\n".join(case["text"] for case in cases)
    values = sorted({secret for case in cases for secret in case["secrets"]})[:40]
    title = cases[0]["text"]
    plan = mask_plan(title=title, body=body, values=values)
    assert masked_title_body(title=title, body=body, values=values, plan=plan) == (
        mask_text(title, values=values),
        mask_text(body, values=values),
    )


@pytest.mark.parametrize(
    "change",
    [
        {"body": BODY + "\n手机：13912345678"},  # the text changed after the plan
        {"title": "联系人李晓燕 13912345678 道路工程"},
        {"values": ["王建明", "0511-83000001", "13912345678"]},  # a contact was added
    ],
)
def test_a_plan_found_for_other_text_or_contacts_is_not_used(change):
    found_for = {"title": "道路工程招标公告", "body": BODY, "values": ["王建明", "0511-83000001"]}
    stale = mask_plan(**found_for)
    now = {**found_for, **change}
    assert masked_title_body(**now, plan=stale) == (
        mask_text(now["title"], values=now["values"]),
        mask_text(now["body"], values=now["values"]),
    )
    assert "13912345678" not in "".join(masked_title_body(**now, plan=stale))


def test_a_plan_found_under_other_rules_is_not_used(monkeypatch):
    title, values = "道路工程招标公告", ["王建明"]
    # Under the "old rules" nothing was hidden: an empty plan, keyed as they would key it.
    monkeypatch.setattr(mask_plans, "_RULES", b"older rules")
    empty = f"{mask_plans.plan_key(title, BODY, values)}||"
    monkeypatch.undo()
    _, body = masked_title_body(title=title, body=BODY, values=values, plan=empty)
    assert "王建明" not in body and "83000001" not in body
    assert body == mask_text(BODY, values=values)


@pytest.mark.django_db
def test_pages_mask_a_bulletin_whose_body_changed_behind_its_plan():
    bulletin = BulletinFactory(title="道路工程施工招标公告", body=BODY)
    ContactFactory(bulletin=bulletin, person="王建明", phone="0511-83000001", mobile="", email="")
    Bulletin.objects.get(pk=bulletin.pk).save()  # the plan now covers text and contact
    assert Bulletin.objects.get(pk=bulletin.pk).mask_plan.count("|") == 2
    # An UPDATE that bypasses save() leaves the plan as it was: it no longer fits.
    Bulletin.objects.filter(pk=bulletin.pk).update(body=BODY + "\n项目负责人：李晓燕 13912345678")
    client = Client()
    detail = client.get(reverse("bulletin-detail", args=[bulletin.pk])).content.decode()
    listing = client.get(reverse("bulletin-list"), {"q": "道路"}).content.decode()
    for page in (detail, listing):
        assert "13912345678" not in page and "李晓燕" not in page
        assert "83000001" not in page
    assert "李**" in detail or "李*" in detail


@pytest.mark.django_db
def test_a_result_page_cuts_fresh_plans_instead_of_masking_again(monkeypatch):
    bulletin = BulletinFactory(title="道路工程施工招标公告", body=BODY)
    ContactFactory(bulletin=bulletin, person="王建明", phone="0511-83000001", mobile="", email="")
    Bulletin.objects.get(pk=bulletin.pk).save()
    from news import masking

    def no_live_masking(*args, **kwargs):
        raise AssertionError("masked live although the stored plan was fresh")

    monkeypatch.setattr(masking, "mask_spans", no_live_masking)
    page = Client().get(reverse("bulletin-list"), {"q": "道路"}).content.decode()
    assert "道路工程施工招标公告" in page and "王建明" not in page
