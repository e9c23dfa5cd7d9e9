"""The import pipeline end to end on PostgreSQL: command, service and admin upload."""

import datetime
import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from members.models import User
from news.models import Bulletin, Contact

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[2] / "demo" / "bulletins"
EXPECTED = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))
SAMPLE_NAMES = sorted(n for n in EXPECTED if not n.startswith("_"))
N = len(SAMPLE_NAMES)


def run(*args) -> tuple[int, dict]:
    """Run the command with --json; return (exit code, parsed output)."""
    out = io.StringIO()
    try:
        call_command("import_bulletins", *map(str, args), "--json", stdout=out)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, json.loads(out.getvalue())


@pytest.fixture
def sample_dir(tmp_path):
    for name in SAMPLE_NAMES:
        (tmp_path / name).write_bytes((SAMPLES / name).read_bytes())
    return tmp_path


class TestSamples:
    def test_every_sample_is_stored_as_expected(self, sample_dir):
        code, out = run(sample_dir)
        assert code == 0
        assert out["imported"] == N and out["duplicates"] == 0 and out["errors"] == []
        for item in out["bulletins"]:
            name = Path(item["file"]).name
            expected = EXPECTED[name]
            bulletin = Bulletin.objects.get(pk=item["id"])
            assert item["url"] == f"/bulletins/{bulletin.pk}/"
            assert bulletin.status == Bulletin.Status.PUBLISHED
            assert bulletin.title == expected["title"]
            assert timezone.localdate(bulletin.published_at).isoformat() == expected["published"]
            assert bulletin.region_display == "-".join(expected["region"])
            assert bulletin.category.name == expected["category"]
            assert bulletin.source_url == expected["source_url"]
            if "paragraphs" in expected:
                assert len(bulletin.paragraphs) == expected["paragraphs"]
            assert bulletin.body.startswith(expected.get("body_starts_with", ""))
            for fragment in expected.get("body_contains", []):
                assert fragment in bulletin.body
            for forbidden in EXPECTED["_must_not_appear_in_body"]:
                assert forbidden not in bulletin.body
            assert bulletin.credits == expected.get("credits", {})
            assert bulletin.amount_yuan == expected.get("amount_yuan")
            if "deadline" in expected:
                wanted = datetime.datetime.fromisoformat(expected["deadline"])
                assert bulletin.bid_deadline == wanted
            assert bulletin.stage == expected.get("stage", "")
            stored = [
                {
                    k: v
                    for k, v in {
                        "organization": c.organization,
                        "role": c.role,
                        "name": c.person,
                        "title": c.title,
                        "phone": c.phone,
                        "mobile": c.mobile,
                        "email": c.email,
                    }.items()
                    if v
                }
                for c in bulletin.contacts.all()
            ]
            assert stored == expected["contacts"]

    def test_imported_bulletin_page_shows_it(self, sample_dir, client, staff_client):
        _, out = run(sample_dir / "003_award_putuo_school.txt")
        html = client.get(out["bulletins"][0]["url"]).content.decode()
        assert "上海市普陀区桃浦中学改扩建工程施工总承包中标结果公告" in html
        assert "上海-上海-普陀区" in html and "陈**" in html and "陈卫东" not in html
        html = staff_client.get(out["bulletins"][0]["url"]).content.decode()
        assert "陈卫东" in html

    def test_draft_option(self, sample_dir, client):
        call_command("import_bulletins", str(sample_dir), "--draft", stdout=io.StringIO())
        assert set(Bulletin.objects.values_list("status", flat=True)) == {"draft"}
        assert client.get(Bulletin.objects.first().get_absolute_url()).status_code == 404


class TestDuplicates:
    def test_rerun_changes_nothing(self, sample_dir):
        run(sample_dir)
        before = (Bulletin.objects.count(), Contact.objects.count())
        code, out = run(sample_dir)
        assert code == 0
        assert {k: out[k] for k in ("imported", "duplicates", "errors", "bulletins")} == {
            "imported": 0,
            "duplicates": N,
            "errors": [],
            "bulletins": [],
        }
        stored = set(Bulletin.objects.values_list("pk", flat=True))
        assert {d["duplicate_of"] for d in out["duplicate_files"]} == stored
        assert all(d["similarity"] is None for d in out["duplicate_files"])  # exact ones
        assert (Bulletin.objects.count(), Contact.objects.count()) == before

    def test_repost_with_other_boilerplate_and_url_is_a_duplicate(self, sample_dir, tmp_path):
        run(sample_dir / "001_tender_gangnan_road.txt")
        text = (sample_dir / "001_tender_gangnan_road.txt").read_text(encoding="utf-8")
        repost = (
            text.replace("办理会员咨询热线:4000-156-001", "全国招标信息网 客服电话 400-000-0000")
            .replace("example-001.html", "repost-999.html")
            .replace("中国建设招标网 www.fordpalmbay.com", "某某招标网 www.example.org")
        )
        (tmp_path / "repost.txt").write_text(repost, encoding="utf-8")
        code, out = run(tmp_path / "repost.txt")
        assert (code, out["imported"], out["duplicates"]) == (0, 0, 1)
        assert Bulletin.objects.count() == 1

    def _other_sites_copy(self, text: str) -> str:
        """Another site's copy: its own header, no source-URL line, a paragraph dropped, a
        sentence added, full-width punctuation, and its own footer after the article."""
        body_start = text.index("一、招标条件")
        body_end = text.index("如有附件或图片")
        article = text[body_start:body_end]
        article = article.replace(
            "三、投标人资格要求\n\n本次招标要求投标人须具备市政公用工程施工总承包二级及以上资质,"
            "并在人员、设备、资金等方面具有相应的施工能力。"
            "拟派项目经理须具备市政公用工程专业二级及以上注册建造师执业资格。\n\n",
            "",
        )
        article = article.replace(
            "计划工期:300日历天。", "计划工期:300日历天。本项目为市级重点工程。"
        )
        article = article.replace(":", "：").replace(",", "，")
        header = text[: text.index("招标公告正文") + len("招标公告正文")].replace(
            "办理会员咨询热线:4000-156-001", "华东建设信息网 首页 > 招标信息 > 正文"
        )
        return (
            header
            + "\n\n"
            + article
            + "来源:镇江市公共资源交易网\n转载请注明出处\n责任编辑:小王\n"
            + "推荐阅读\n镇江新区某道路工程招标公告\n更多精彩内容请关注本站微信公众号\n"
            + "分享到: 微信 微博\n上一篇:某某工程\n下一篇:某某工程\n"
        )

    def test_other_sites_copy_is_reported_as_a_near_duplicate(self, sample_dir, tmp_path):
        _, first = run(sample_dir / "001_tender_gangnan_road.txt")
        original = first["bulletins"][0]["id"]
        text = (sample_dir / "001_tender_gangnan_road.txt").read_text(encoding="utf-8")
        (tmp_path / "copy.txt").write_text(self._other_sites_copy(text), encoding="utf-8")
        code, out = run(tmp_path / "copy.txt")
        assert (code, out["imported"], out["duplicates"]) == (0, 0, 1)
        [dup] = out["duplicate_files"]
        assert dup["duplicate_of"] == original and 0.8 <= dup["similarity"] < 1
        assert Bulletin.objects.count() == 1

        # Staff can store it anyway; its body ends where the article ends.
        call_command(
            "import_bulletins",
            str(tmp_path / "copy.txt"),
            "--allow-near-duplicates",
            stdout=io.StringIO(),
        )
        copy = Bulletin.objects.exclude(pk=original).get()
        assert copy.source_name == "镇江市公共资源交易网"
        for chrome in ("转载", "责任编辑", "推荐阅读", "更多精彩", "分享到", "上一篇", "华东建设"):
            assert chrome not in copy.body, chrome

    def test_another_project_from_the_same_template_is_not_a_duplicate(self, sample_dir, tmp_path):
        run(sample_dir / "001_tender_gangnan_road.txt")
        text = (sample_dir / "001_tender_gangnan_road.txt").read_text(encoding="utf-8")
        other = (
            text.replace("港南路(大港段)", "港北路(丁卯段)")
            .replace("港南路(金港大道至通港路段)", "港北路(丁卯桥至银山路段)")
            .replace("3860.52万元", "2750.10万元")
            .replace("王建明", "赵海平")
            .replace("0511-83000001", "0511-83000019")
            .replace("example-001.html", "example-017.html")
        )
        (tmp_path / "other.txt").write_text(other, encoding="utf-8")
        code, out = run(tmp_path / "other.txt")
        assert (code, out["imported"], out["duplicates"]) == (0, 1, 0)

    def test_the_same_page_twice_in_one_run(self, sample_dir, tmp_path):
        page = (sample_dir / "001_tender_gangnan_road.txt").read_bytes()
        twice = tmp_path / "twice"
        twice.mkdir()
        (twice / "a.txt").write_bytes(page)
        (twice / "b.txt").write_bytes(page)
        code, out = run(twice)
        assert (code, out["imported"], out["duplicates"]) == (0, 1, 1)
        assert Bulletin.objects.count() == 1

    def test_same_source_url_is_a_duplicate(self, sample_dir, tmp_path):
        run(sample_dir / "002_proposed_wujin_park.txt")
        text = (sample_dir / "002_proposed_wujin_park.txt").read_text(encoding="utf-8")
        (tmp_path / "edited.txt").write_text(text.replace("12.8亿元", "13亿元"), encoding="utf-8")
        assert run(tmp_path / "edited.txt")[1]["duplicates"] == 1


class TestEncodings:
    @pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig"])
    def test_reencoded_sample_imports_identically(self, tmp_path, encoding):
        text = (SAMPLES / "001_tender_gangnan_road.txt").read_text(encoding="utf-8")
        (tmp_path / "page.txt").write_bytes(text.replace("\n", "\r\n").encode(encoding))
        code, out = run(tmp_path / "page.txt")
        assert code == 0 and out["imported"] == 1
        bulletin = Bulletin.objects.get()
        assert bulletin.title == EXPECTED["001_tender_gangnan_road.txt"]["title"]
        assert bulletin.amount_yuan == 38605200
        assert [c.person for c in bulletin.contacts.all()] == ["王建明", "李晓燕"]
        assert "\r" not in bulletin.body


class TestErrors:
    def test_bad_files_fail_clearly_and_the_rest_import(self, sample_dir, tmp_path):
        bad = tmp_path / "bad"
        bad.mkdir()
        text = (SAMPLES / "001_tender_gangnan_road.txt").read_text(encoding="utf-8")
        no_date = "\n".join(
            line
            for line in text.splitlines()
            if "2024-10-12" not in line and "发布日期" not in line
        )
        (bad / "no_date.txt").write_text(no_date, encoding="utf-8")
        (bad / "empty.txt").write_bytes(b"")
        (bad / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
        good = sample_dir / "003_award_putuo_school.txt"
        code, out = run(bad, good)
        assert code == 1
        assert out["imported"] == 1
        errors = {Path(e["file"]).name: e["error"] for e in out["errors"]}
        assert set(errors) == {"no_date.txt", "empty.txt", "image.png"}
        assert "no_date.txt" in errors["no_date.txt"] and "发布日期" in errors["no_date.txt"]
        assert "空" in errors["empty.txt"]
        assert "不是文本" in errors["image.png"]
        assert Bulletin.objects.count() == 1
        # Re-running fails the same files with the same errors, and stores nothing new.
        code2, out2 = run(bad, good)
        assert (code2, out2["errors"], out2["duplicates"]) == (1, out["errors"], 1)

    def test_failure_inside_the_transaction_leaves_nothing(self, sample_dir, tmp_path):
        text = (SAMPLES / "001_tender_gangnan_road.txt").read_text(encoding="utf-8")
        # A source URL longer than the column allows fails at save time, after parsing.
        long_url = "http://example.com/" + "a" * 1200
        (tmp_path / "long.txt").write_text(
            text.replace(EXPECTED["001_tender_gangnan_road.txt"]["source_url"], long_url),
            encoding="utf-8",
        )
        code, out = run(tmp_path / "long.txt")
        assert code == 1 and "long.txt" in out["errors"][0]["error"]
        assert not Bulletin.objects.exists() and not Contact.objects.exists()

    def test_a_failing_file_among_good_ones_in_one_batch(self, sample_dir):
        text = (SAMPLES / "001_tender_gangnan_road.txt").read_text(encoding="utf-8")
        url = EXPECTED["001_tender_gangnan_road.txt"]["source_url"]
        (sample_dir / "001_tender_gangnan_road.txt").write_text(
            text.replace(url, "http://example.com/" + "a" * 1200), encoding="utf-8"
        )
        code, out = run(sample_dir)
        assert code == 1 and out["imported"] == N - 1
        assert [Path(e["file"]).name for e in out["errors"]] == ["001_tender_gangnan_road.txt"]
        assert Bulletin.objects.count() == N - 1
        # The failed file left none of its contacts; the others kept all of theirs.
        kept = sum(
            len(EXPECTED[name]["contacts"])
            for name in SAMPLE_NAMES
            if name != "001_tender_gangnan_road.txt"
        )
        assert Contact.objects.count() == kept
        failed_title = EXPECTED["001_tender_gangnan_road.txt"]["title"]
        assert not Contact.objects.filter(bulletin__title=failed_title).exists()

    def test_a_page_stored_meanwhile_falls_back_file_by_file_and_links(
        self, sample_dir, tmp_path, monkeypatch
    ):
        """Another import stored a page after this batch checked for duplicates: the
        batch INSERT fails on the unique fingerprint, the linking done before it rolls
        back with it, and each file is stored and linked on its own."""
        from news.importing import storing

        first = "001_tender_gangnan_road.txt"
        (tmp_path / first).write_bytes((SAMPLES / first).read_bytes())
        assert run(tmp_path / first)[0] == 0
        real_check, calls = storing._known_pages, []

        def check_misses_it_once(pages):  # the batch's check ran before the other import
            calls.append(len(pages))
            return {} if len(calls) == 1 else real_check(pages)

        monkeypatch.setattr(storing, "_known_pages", check_misses_it_once)
        code, out = run(sample_dir, "--allow-near-duplicates")
        assert out["imported"] == N - 1 and out["duplicates"] == 1, out
        assert Bulletin.objects.count() == N
        for name in SAMPLE_NAMES:
            bulletin = Bulletin.objects.get(title=EXPECTED[name]["title"])
            wanted = EXPECTED[name].get("project")
            assert (bulletin.project.name if bulletin.project else None) == wanted, name

    def test_missing_path_is_a_usage_error_exit_2(self, tmp_path):
        result = subprocess.run(
            [sys.executable, "manage.py", "import_bulletins", str(tmp_path / "nope")],
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2
        assert "路径不存在" in result.stderr and "nope" in result.stderr


def test_dry_run_stores_nothing(sample_dir):
    out = io.StringIO()
    call_command("import_bulletins", str(sample_dir), "--dry-run", "--json", stdout=out)
    assert json.loads(out.getvalue())["imported"] == N
    assert not Bulletin.objects.exists()


def test_readable_summary(sample_dir):
    out = io.StringIO()
    call_command("import_bulletins", str(sample_dir), stdout=out)
    assert f"已导入 {N} 个, 重复 0 个, 失败 0 个" in out.getvalue()


def test_load_demo_is_idempotent():
    call_command("load_demo", stdout=io.StringIO())
    call_command("load_demo", stdout=io.StringIO())
    assert Bulletin.objects.count() == N
    assert User.objects.filter(username__in=["editor", "member"]).count() == 2


class TestAdminUpload:
    @pytest.fixture
    def staff(self, staff_client):
        return staff_client

    def test_upload_files_shows_summary_with_errors(self, staff):
        files = [
            SimpleUploadedFile(n, (SAMPLES / n).read_bytes())
            for n in ("001_tender_gangnan_road.txt", "002_proposed_wujin_park.txt")
        ] + [SimpleUploadedFile("blank.txt", b"   \n")]
        response = staff.post(reverse("admin:news_bulletin_import"), {"files": files})
        html = response.content.decode()
        assert response.status_code == 200
        assert "导入 2 个,重复 0 个,失败 1 个" in html
        assert "blank.txt" in html
        assert Bulletin.objects.count() == 2

    def test_upload_zip(self, staff):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name in SAMPLE_NAMES:
                archive.writestr(f"pages/{name}", (SAMPLES / name).read_bytes())
        upload = SimpleUploadedFile("batch.zip", buffer.getvalue())
        html = staff.post(
            reverse("admin:news_bulletin_import"), {"files": [upload]}
        ).content.decode()
        assert f"导入 {N} 个,重复 0 个,失败 0 个" in html
        assert Bulletin.objects.count() == N

    def test_import_page_requires_staff(self, client):
        response = client.get(reverse("admin:news_bulletin_import"))
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_large_zip_is_imported_by_the_worker_with_progress(
    celery_worker, staff_client, settings, tmp_path
):
    import time

    from news.models import ImportJob

    settings.IMPORT_INLINE_MAX_FILES = 2
    settings.MEDIA_ROOT = tmp_path
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in SAMPLE_NAMES:
            archive.writestr(f"pages/{name}", (SAMPLES / name).read_bytes())
    upload = SimpleUploadedFile("big.zip", buffer.getvalue())
    response = staff_client.post(reverse("admin:news_bulletin_import"), {"files": [upload]})
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:news_bulletin_import_job", args=[job.pk])
    page = staff_client.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' in page or "已完成" in page  # still running, or done
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in ("done", "failed"):
            break
        time.sleep(0.2)
    assert job.status == "done", job.error
    html = staff_client.get(response["Location"]).content.decode()
    assert f"导入 {N} 个,重复 0 个,失败 0 个" in html and 'http-equiv="refresh"' not in html
    assert Bulletin.objects.count() == N and job.done == job.total == N


def test_a_large_import_prepares_batches_in_a_helper_and_keeps_every_outcome_in_order():
    """Past one batch, the next is parsed and masked in a helper process while the current
    one is stored: outcomes stay in input order and the stored search columns are what
    the bulletin's own contacts give."""
    from bench import import_bench
    from news.importing.pipeline import BATCH_SIZE, run_import
    from news.importing.sources import SourceFile

    generator = import_bench.Generator(import_bench.FALLBACK_REGIONS, seed=7)
    pages = [generator.page(i).text.encode() for i in range(2 * BATCH_SIZE + 40)]

    def unreadable():
        raise OSError("设备未就绪")

    sources = [SourceFile(f"p{i:03}.txt", lambda data=data: data) for i, data in enumerate(pages)]
    sources.insert(150, SourceFile("broken.txt", unreadable))
    sources.insert(170, SourceFile("noise.txt", lambda: b"\x00\x01 not a page"))
    sources.insert(230, SourceFile("copy-of-p010.txt", lambda: pages[10]))

    report = run_import(sources)

    assert [r.file for r in report.results] == [s.name for s in sources]
    assert report.prepared_ahead >= 2  # batches 2 and 3 came from the helper
    outcome = {r.file: r for r in report.results}
    assert outcome["broken.txt"].status == "error" and "设备未就绪" in outcome["broken.txt"].error
    assert outcome["noise.txt"].status == "error"
    assert outcome["copy-of-p010.txt"].status == "duplicate"
    assert outcome["copy-of-p010.txt"].duplicate_of == outcome["p010.txt"].bulletin_id
    assert len(report.imported) == len(pages) == Bulletin.objects.count()

    def columns(bulletin):  # tsvectors as sets of lexemes (PostgreSQL sorts them)
        return {f: set(re.findall(r"'([^']*)'", getattr(bulletin, f) or "")) or getattr(
            bulletin, f) for f in Bulletin.VECTOR_FIELDS}  # fmt: skip

    for bulletin in Bulletin.objects.order_by("?")[:40]:
        stored = columns(bulletin)
        bulletin.refresh_vectors()  # from its stored contacts, in this process
        assert stored == columns(bulletin), bulletin.pk
