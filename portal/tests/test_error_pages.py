"""Error pages a visitor may meet: Chinese, the hotline, a way back, the right status."""

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db


def _assert_helpful(response, status, heading):
    page = response.content.decode()
    assert response.status_code == status
    assert heading in page and settings.MEMBERSHIP_HOTLINE in page
    assert 'href="/"' in page and 'lang="zh-CN"' in page


def test_404_page(client):
    _assert_helpful(client.get("/bulletins/999999999/"), 404, "页面不存在")
    _assert_helpful(client.get("/no-such-page/"), 404, "页面不存在")


def test_400_page(client):
    _assert_helpful(client.get("/", HTTP_HOST="evil.example.net"), 400, "请求无效")


def test_403_page_for_an_expired_form():
    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post("/accounts/login/", {"login": "a@b.cn", "password": "x"})
    _assert_helpful(response, 403, "无权访问")


def test_500_page_needs_no_database(client, settings):
    settings.ROOT_URLCONF = "portal.tests.error_urls"
    client.raise_request_exception = False
    _assert_helpful(client.get("/boom/"), 500, "服务器暂时出错")
