"""OCDS 1.1 release packages and OC4IDS project packages, validated against the official
schemas vendored in api/schemas/ (never fetched)."""

import json
from pathlib import Path

import pytest
from django.urls import reverse
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from api.tokens import api_token_create
from members.tests.factories import paid_member
from news.linking import project_link_bulletin
from news.tests.factories import BulletinFactory, ContactFactory, category

pytestmark = pytest.mark.django_db
SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


def _load(name):
    return json.loads((SCHEMAS / name).read_text("utf-8"))


def _validator(schema, *others):
    registry = Registry().with_resources(
        (s["id"], Resource.from_contents(s, default_specification=DRAFT4)) for s in others
    )
    return Draft4Validator(schema, registry=registry, format_checker=FormatChecker())


RELEASE_PACKAGE = _validator(
    _load("ocds-1.1/release-package-schema.json"), _load("ocds-1.1/release-schema.json")
)
PROJECT = _load("oc4ids-0.9/project-schema.json")
# No registry ships OC4IDS's project-package schema: its fields as documented, with the
# projects checked against the official project schema.
PROJECT_PACKAGE = _validator(
    {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "required": ["version", "projects"],
        "properties": {
            "version": {"type": "string", "pattern": "^(\\d+\\.)(\\d+)$"},
            "uri": {"type": "string", "format": "uri"},
            "publishedDate": {"type": "string", "format": "date-time"},
            "publisher": {"type": "object", "required": ["name"]},
            "license": {"type": "string", "format": "uri"},
            "projects": {"type": "array", "minItems": 1, "items": {"$ref": PROJECT["id"]}},
        },
    },
    PROJECT,
)


def _errors(validator, data):
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]


@pytest.fixture
def auth():
    key = api_token_create(user=paid_member(), name="ocds")[1]
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def _tender_and_award():
    body = (
        "本招标项目镇江新区丁卯路道路工程已由镇江新区发改局批准建设。\n\n"
        "联系人:王建明,电话 0511-83000001"
    )
    tender = BulletinFactory(title="镇江新区丁卯路道路工程施工招标公告", body=body)
    tender.amount_yuan = 12_500_000
    tender.save()
    ContactFactory(bulletin=tender)
    ContactFactory(bulletin=tender, organization="江苏某某招标代理有限公司", role="招标代理机构")
    project_link_bulletin(bulletin=tender)
    award = BulletinFactory(
        category=category("award"),
        title="镇江新区丁卯路道路工程施工中标结果公示",
        body=body,
        winner="江苏某某路桥建设有限公司",
    )
    project_link_bulletin(bulletin=award)
    tender.refresh_from_db()
    award.refresh_from_db()
    return tender, award


def test_tender_and_award_release_packages_validate(client, auth, settings):
    settings.OCDS_OCID_PREFIX = "ocds-abc123"
    tender, award = _tender_and_award()
    packages = []
    for b in (tender, award):
        response = client.get(reverse("api-bulletin-ocds", args=[b.pk]), **auth)
        assert response.status_code == 200
        package = response.json()
        assert _errors(RELEASE_PACKAGE, package) == []
        packages.append(package)
    t, a = (p["releases"][0] for p in packages)
    assert t["tag"] == ["tender"] and a["tag"] == ["award"]
    assert t["ocid"].startswith("ocds-abc123-")
    assert t["ocid"] == a["ocid"], "one project: one contracting process"
    assert t["tender"]["value"] == {"amount": 12_500_000, "currency": "CNY"}
    assert {"buyer"} <= set(t["parties"][0]["roles"]) and t["buyer"]["id"] == "org-1"
    assert a["awards"][0]["suppliers"][0]["name"] == "江苏某某路桥建设有限公司"
    text = json.dumps(packages, ensure_ascii=False)
    assert "王建明" not in text and "83000001" not in text and "13800000001" not in text


def test_other_categories_have_no_release(client, auth):
    news = BulletinFactory(category=category("news"))
    assert client.get(reverse("api-bulletin-ocds", args=[news.pk]), **auth).status_code == 404


def test_project_package_validates(client, auth, settings):
    settings.OPEN_DATA_LICENSE = "https://creativecommons.org/licenses/by/4.0/"
    tender, award = _tender_and_award()
    response = client.get(reverse("api-project-oc4ids", args=[tender.project_id]), **auth)
    assert response.status_code == 200
    package = response.json()
    assert _errors(PROJECT_PACKAGE, package) == []
    project = package["projects"][0]
    assert project["status"] == "preparation"
    tags = [r["tag"] for r in project["contractingProcesses"][0]["releases"]]
    assert sorted(tags) == ["award", "tender"]
    assert "王建明" not in json.dumps(package, ensure_ascii=False)


def test_the_validator_can_fail(client, auth):
    """The schemas are really applied: a broken package is refused."""
    tender, _ = _tender_and_award()
    package = client.get(reverse("api-bulletin-ocds", args=[tender.pk]), **auth).json()
    package["releases"][0]["tag"] = ["bidding"]
    del package["publisher"]
    assert len(_errors(RELEASE_PACKAGE, package)) == 2
