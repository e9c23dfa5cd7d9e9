import datetime

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from news.models import Bulletin, Contact, Region
from news.regions import RegionIndex, region_resolve
from news.tests.factories import BulletinFactory, ContactFactory, category, region

pytestmark = pytest.mark.django_db


class TestRegions:
    def test_official_divisions_are_seeded_with_codes(self):
        jiangsu = Region.objects.get(name="江苏", level=Region.Level.PROVINCE)
        assert jiangsu.code == "320000"
        assert jiangsu.full_name == "江苏省"
        assert Region.objects.provinces().count() == 34

    def test_resolve_city_and_district(self):
        wujin = region_resolve(["江苏", "常州", "武进区"])
        assert wujin.code == "320412"
        assert wujin.path_display == "江苏-常州-武进区"

    def test_resolve_accepts_full_names(self):
        assert region_resolve(["江苏省", "常州市", "武进区"]).code == "320412"

    @pytest.mark.parametrize(
        "path", [["上海", "上海", "普陀区"], ["上海", "普陀区"], ["上海市", "上海市", "普陀区"]]
    )
    def test_municipality_paths(self, path):
        putuo = region_resolve(path)
        assert putuo.path_display == "上海-上海-普陀区"
        assert putuo.code == "310107"

    def test_unknown_name_is_stored_unverified_not_dropped(self):
        made = region_resolve(["江苏", "镇江", "高资新城"])
        assert made.verified is False
        assert made.parent.name == "镇江"
        assert made.level == Region.Level.DISTRICT
        assert region_resolve(["江苏", "镇江", "高资新城"]).pk == made.pk

    def test_new_unverified_region_shows_in_cached_options(self):
        from news.selectors import region_options

        zhenjiang = region("江苏-镇江")
        assert "高资新城" not in dict(region_options(zhenjiang.pk)).values()
        region_resolve(["江苏", "镇江", "高资新城"])
        assert "高资新城" in dict(region_options(zhenjiang.pk)).values()

    @pytest.mark.parametrize(
        "path",
        [
            ["江苏", "常州", "武进区"],
            ["江苏省", "常州市", "武进区"],
            ["上海", "普陀区"],
            ["上海市", "上海市", "普陀区"],
            ["江苏", "镇江"],
            ["江苏", "镇江", "高资新城"],  # unknown: stored unverified
            ["火星", "奥林帕斯"],  # unknown province
        ],
    )
    def test_index_resolves_as_the_queries_do(self, path):
        # The importer resolves from memory once a run has seen many paths; an unverified
        # row stored meanwhile is still found (the index asks the table on a miss).
        index = RegionIndex()
        from_memory = region_resolve(path, index=index)
        assert from_memory == region_resolve(path)
        assert region_resolve(path, index=index) == from_memory
        assert from_memory.path_display == region_resolve(path).path_display
        assert Region.objects.filter(name=path[-1], verified=False).count() <= 1


class TestBulletin:
    def test_region_denormalised_on_save(self):
        bulletin = BulletinFactory(region=region("江苏-镇江-镇江新区"))
        assert bulletin.province.name == "江苏"
        assert bulletin.city.name == "镇江"
        assert bulletin.region_display == "江苏-镇江-镇江新区"

    def test_save_with_update_fields_region_moves_province_and_search(self, client):
        bulletin = BulletinFactory(title="学校改扩建工程", region=region("江苏-镇江-镇江新区"))
        shanghai = region("上海-上海-普陀区")
        bulletin.region = shanghai
        bulletin.save(update_fields=["region"])
        stored = Bulletin.objects.get(pk=bulletin.pk)
        assert (stored.province.name, stored.city.name) == ("上海", "上海")
        found = client.get("/bulletins/", {"q": "学校", "province": stored.province_id})
        assert "学校改扩建工程" in found.content.decode()
        jiangsu = Region.objects.get(name="江苏", parent=None)
        gone = client.get("/bulletins/", {"q": "学校", "province": jiangsu.pk})
        assert "学校改扩建工程" not in gone.content.decode()

    def test_municipality_display_keeps_both_levels(self):
        bulletin = BulletinFactory(region=region("上海-上海-普陀区"))
        assert bulletin.region_display == "上海-上海-普陀区"

    def test_source_url_unique_when_present(self):
        BulletinFactory(source_url="http://example.com/a.html")
        with pytest.raises(IntegrityError), transaction.atomic():
            BulletinFactory(source_url="http://example.com/a.html")

    def test_many_bulletins_without_source_url(self):
        BulletinFactory(source_url="")
        BulletinFactory(source_url="")
        assert Bulletin.objects.filter(source_url="").count() == 2

    @pytest.mark.parametrize("title", ["", "   "])
    def test_title_must_not_be_empty(self, title):
        with pytest.raises(IntegrityError), transaction.atomic():
            BulletinFactory(title=title)

    def test_published_excludes_drafts_and_future(self):
        visible = BulletinFactory()
        BulletinFactory(status=Bulletin.Status.DRAFT)
        BulletinFactory(published_at=timezone.now() + datetime.timedelta(days=1))
        assert list(Bulletin.objects.published()) == [visible]

    def test_in_region_includes_children(self):
        zhenjiang_new = BulletinFactory(region=region("江苏-镇江-镇江新区"))
        changzhou = BulletinFactory(region=region("江苏-常州-武进区"))
        shanghai = BulletinFactory(region=region("上海-上海-普陀区"))
        jiangsu = Region.objects.get(name="江苏", parent=None)
        assert set(Bulletin.objects.in_region(jiangsu)) == {zhenjiang_new, changzhou}
        assert list(Bulletin.objects.in_region(region("江苏-镇江"))) == [zhenjiang_new]
        assert list(Bulletin.objects.in_region(region("上海-上海-普陀区"))) == [shanghai]

    def test_paragraphs(self):
        bulletin = BulletinFactory(body="第一段。\n\n第二段。\n\n\n第三段。")
        assert bulletin.paragraphs == ["第一段。", "第二段。", "第三段。"]

    def test_category_is_protected(self):
        BulletinFactory(category=category("award"))
        with pytest.raises(ProtectedError):
            category("award").delete()


class TestContact:
    def test_contacts_cascade_with_bulletin(self):
        contact = ContactFactory()
        contact.bulletin.delete()
        assert not Contact.objects.exists()

    def test_contact_must_name_someone(self):
        with pytest.raises(IntegrityError), transaction.atomic():
            ContactFactory(organization="", person="")
