"""Load N synthetic published bulletins (with contacts and search vectors) by COPY.

    .venv/bin/python bench/seed_bulletins.py 20000 \\
        --database-url postgres://postgres@127.0.0.1:5432/portal_bench20k --fresh
    nohup .venv/bin/python bench/seed_bulletins.py 1000000 --fresh > var/bench/seed-1m.log 2>&1 &

The database (default portal_bench1m) is created if missing and migrated with Django's
`migrate`; `--fresh` drops it first.  Without `--fresh` the rows are appended.

Rows look like the sample pages in demo/bulletins: Chinese titles and 1-3 KB bodies built
from real regions (each bulletin has a real district and its city / province ids, as
`Bulletin.set_region` sets them), project words and sentences of the samples, 1-3 contacts
per non-news bulletin (also written into the body, as on the real pages), categories
weighted like the site and published_at spread over five years.  Regions are weighted
towards 江苏 (镇江 especially), and organisations / sentences name hub cities, so that about
5 % of the rows contain 镇江 and about 3 % 上海: common 2-character searches then hit tens of
thousands of rows, as on the real site.

The search columns come from `news.search.bulletin_index_fields` exactly as
`Bulletin.save()` sets them: `hidden_lexemes` (the n-grams masking hides, which the GIN
index over `news_public_vector(...)` leaves out), `title_vector` from the masked title,
`contact_vector` from the contact values.

Projects: before generating, the bulletins are grouped into projects as `news.linking`
would find them (`plan_projects`): news (18 %) belongs to none; every other bulletin is a
tender, award, proposed or construction record of a project (about 293,000 at 1M: 0-3
tenders, 5-25 for 0.3 % of them, an award for most tenders, a proposed record for 38 %, a
construction record for a third), in one district, dated in stage order, its parties the
same organisations and (mostly) the same people.  Names are unique per (name_key, city).
Workers write news_bulletin.project_id with the rows and check that `linking.project_name`
reads the planned name back; the parent then builds news_project (name of the first
bulletin, name_key, place_key = city id, stage, work type, latest amount, last activity),
news_projectstagechange (one row per stage reached), news_organization,
news_projectparty and news_projectcontact exactly as `project_link_bulletin` would, linking
each project's bulletins in (published_at, id) order, and COPYs them.  news_lshbucket gets
the 20 MinHash band keys of each body (`near_duplicates.signature_bands`) unless
`--no-lsh`; the seeder prints what that costs.

Speed: the expensive parts are the generator, the masking behind `hidden_lexemes` and the
MinHash bands, so worker processes generate and COPY disjoint id ranges in parallel.
Before loading, the secondary indexes, foreign keys and unique constraints of
news_bulletin, news_contact, the project tables and news_lshbucket (and its primary key)
are dropped (their exact definitions are saved to var/bench/<db>-schema.json first, so an
interrupted run restores them on the next start) and rebuilt afterwards with
maintenance_work_mem = 2GB; then VACUUM ANALYZE.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import io
import itertools
import json
import multiprocessing
import random
import re
import sys
import time
import unicodedata
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import BENCH_DB_URL, ROOT, admin_url, connect, db_name, mib, setup_django

SEED = 20250601
CHUNK = 2_000
SHANGHAI = ZoneInfo("Asia/Shanghai")
FIVE_YEARS = 5 * 365.25 * 86400

# --- vocabulary ---------------------------------------------------------------------------

# Province weights (percent-ish): a Jiangsu-centred site with national coverage.
PROVINCE_WEIGHTS = {
    "江苏": 24,
    "浙江": 9,
    "广东": 7,
    "山东": 6,
    "安徽": 5,
    "上海": 1,
    "河南": 4,
    "湖北": 3,
    "四川": 3,
    "福建": 3,
    "湖南": 3,
    "北京": 1.5,
}
OTHER_PROVINCE_WEIGHT = 1.2
CITY_WEIGHTS = {"镇江": 3, "南京": 3, "苏州": 3, "常州": 2, "无锡": 2, "杭州": 3, "宁波": 2}
# Cities named by organisations and sentences outside their own region (agents, designers,
# "learn from X" sentences): how 上海 and 镇江 show up in bulletins of other regions.
HUBS = ("上海", "南京", "杭州", "镇江", "苏州", "北京", "广州", "合肥", "武汉", "成都")
HUB_WEIGHTS = (15, 14, 12, 10, 8, 8, 7, 5, 4, 4)

CATEGORY_WEIGHTS = {"tender": 35, "award": 25, "proposed": 12, "construction": 10, "news": 18}

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵"
)
GIVEN = "建明晓燕国庆丽卫东敏志强海涛伟芳军红霞勇杰娟磊洋艳斌玲超华平刚桂英文辉鹏飞宇婷雪梅俊峰"
PLACES = [
    "港南",
    "金港",
    "人民",
    "解放",
    "中山",
    "建设",
    "长江",
    "东方",
    "新华",
    "和平",
    "滨江",
    "湖滨",
    "学府",
    "科技",
    "文昌",
    "青年",
    "朝阳",
    "振兴",
    "望湖",
    "锦绣",
    "龙湾",
    "凤凰",
    "翠屏",
    "桃源",
    "丁卯",
    "南徐",
    "北固",
    "西津",
    "云台",
    "太湖",
    "运河",
    "东湖",
    "梅园",
    "金山",
    "银湖",
    "星海",
    "丰乐",
    "永安",
    "长兴",
    "清河",
    "白鹭",
    "玉泉",
    "紫金",
    "天目",
    "栖霞",
    "临江",
    "高新",
    "经开",
    "双龙",
    "桃浦",
    "大港",
    "湖塘",
    "黄河",
    "泰山",
]
PLACE_KINDS = ("路", "大道", "街", "片区", "园区", "新城", "镇", "街道")
FACILITIES = (
    "道路改造",
    "道路提升改造",
    "道路新建",
    "道路及配套管网",
    "小学新建",
    "中学改扩建",
    "学校新建",
    "幼儿园新建",
    "职业学校实训楼",
    "污水处理厂提标改造",
    "污水处理厂扩建",
    "农村生活污水处理设施",
    "综合管廊",
    "地下综合管廊",
    "桥梁新建",
    "跨河桥梁改造",
    "危桥改造",
    "人民医院门急诊楼",
    "中医院改扩建",
    "妇幼保健院新建",
    "产业园基础设施",
    "产业园标准厂房",
    "安置房",
    "老旧小区改造",
    "雨污分流改造",
    "河道综合整治",
    "供水管网改造",
    "体育中心",
    "公园绿化提升",
    "智慧停车场",
    "文化艺术中心",
    "人才公寓",
    "农贸市场改造",
    "养老服务中心",
    "燃气管网更新",
    "海绵城市建设",
    "高标准农田建设",
)
PROJECT_KINDS = (
    "智能装备产业园",
    "新能源电池生产基地",
    "生物医药产业园",
    "冷链物流中心",
    "数据中心",
    "科创孵化基地",
    "商业综合体",
    "职业技术学校新校区",
    "区域医疗中心",
    "文旅综合体",
    "精密制造基地",
    "绿色建材产业园",
)
PHASES = ("", "", "一期", "二期", "三期")
SCOPES = ("施工", "施工总承包", "监理", "勘察设计", "EPC总承包", "设计施工总承包", "全过程工程咨询")
AWARD_SCOPES = ("施工", "施工", "施工总承包", "监理", "设计施工总承包")
ORG_KINDS = (
    "城市建设投资有限公司",
    "交通投资集团有限公司",
    "水务集团有限公司",
    "产业发展有限公司",
    "文化旅游发展有限公司",
    "国有资产经营有限公司",
    "城市更新建设有限公司",
    "住房和城乡建设局",
    "教育局",
    "卫生健康委员会",
)
AGENT_KINDS = ("工程咨询有限公司", "建设项目管理有限公司", "招标代理有限公司", "造价咨询有限公司")
DESIGN_KINDS = ("建筑设计研究院有限公司", "市政工程设计院有限公司", "规划设计研究院有限公司")
BUILDER_KINDS = ("建设工程有限公司", "建筑工程有限公司", "建设集团有限公司", "市政工程有限公司")
BRANDS = [
    "华信",
    "华东",
    "中诚",
    "恒信",
    "正达",
    "宏图",
    "远大",
    "中建",
    "华建",
    "泰和",
    "永信",
    "天成",
    "金鼎",
    "博远",
    "卓越",
    "宏泰",
    "联创",
    "同济",
    "东南",
    "长城",
    "建安",
    "鼎盛",
    "中科",
    "华设",
    "新城",
    "安泰",
    "众诚",
    "明达",
    "骏业",
    "广厦",
]
AREA_CODES = ("010", "021", "022", "025", "0511", "0519", "0512", "0571", "0574", "020", "0755")
MAIL_DOMAINS = ("example.com", "example.cn", "example.org", "example.net")
MAIL_USERS = ("bid", "zbdl", "design", "office", "pm", "contact", "service", "project", "xmb")
URL_HOSTS = (
    "ggzy.zhenjiang.gov.cn",
    "ggzy.hangzhou.gov.cn",
    "ciac.zjw.sh.gov.cn",
    "ggzy.gz.gov.cn",
    "jsggzy.jszwfw.gov.cn",
    "zjpubservice.zjzwfw.gov.cn",
    "www.ccgp.gov.cn",
)
QUALIFICATIONS = (
    "市政公用工程施工总承包二级及以上资质",
    "建筑工程施工总承包二级及以上资质",
    "公路工程施工总承包三级及以上资质",
    "工程监理综合资质或市政公用工程专业乙级及以上资质",
    "工程设计市政行业(道路工程)专业乙级及以上资质",
)
FUNDS = ("财政资金", "自筹资金", "专项债券资金", "财政资金和自筹资金")
# Sentences for padding bodies to 1-3 KB (modelled on the samples' prose).
FILLER = (
    "项目建成后将进一步完善{d}基础设施配套,提升区域综合承载能力和公共服务水平。",
    "{d}坚持规划引领、分步实施,统筹推进{f}与周边片区开发建设,确保工程质量和施工安全。",
    "建设过程中将严格落实扬尘治理和文明施工各项要求,最大限度减少对周边群众生产生活的影响。",
    "该项目是{c}今年重点推进的民生实事项目之一,社会关注度高,各相关部门将加强协调、形成合力。",
    "项目实施范围内涉及的管线迁改、交通导改等前期工作已基本完成,具备开工建设条件。",
    "施工单位应按照国家现行规范和标准组织施工,建立健全质量安全管理体系,落实主体责任。",
    "{d}将以此为契机,加快补齐城市功能短板,持续改善人居环境,不断增强群众获得感和幸福感。",
    "工程采用装配式建造和绿色施工技术,统筹考虑节能降耗和海绵城市理念,打造示范工程。",
    "项目周边交通便利,距离{p}{k}约{n}公里,配套市政设施和供水供电条件较为完善。",
    "相关部门表示,将加强项目全过程跟踪服务,及时协调解决建设中遇到的困难和问题。",
    "根据前期调研,{f}项目的实施将惠及周边{n}个社区约{m}万名居民。",
    "下一步,{c}将继续加大重大项目招引和建设力度,以项目建设的实效推动经济社会高质量发展。",
    "项目设计充分尊重{p}片区历史文脉和自然肌理,注重功能复合与空间品质提升。",
    "建设单位将强化工程进度管理,倒排工期、挂图作战,确保项目按期建成投入使用。",
    "给排水、垃圾收运、照明等配套设施与主体工程同步设计、同步施工、同步投入使用。",
    "教育、医疗、公园等公共服务设施的布局将结合片区人口规模统筹安排,逐步完善。",
)
# Sentences naming another (hub) city: in about HUB_SENTENCE_SHARE of the bodies.
HUB_SENTENCES = (
    "项目借鉴{h}等地{f}建设的先进经验,在设计、施工和运营管理上对标一流水平。",
    "{c}与{h}在产业协作、基础设施互联互通等方面合作密切,项目是两地合作的重要成果。",
)
HUB_SENTENCE_SHARE = 0.05
NEWS_EVENTS = (
    "召开重点项目建设推进会",
    "重大项目集中开工",
    "举行招商引资项目签约仪式",
    "部署城市更新重点工作",
    "开展建筑施工安全生产专项检查",
    "推进老旧小区改造提质增效",
    "召开优化营商环境工作会议",
    "{f}项目建设现场观摩会举行",
    "加快推进{f}项目建设",
    "召开工程建设领域专项整治工作会",
    "与{h}签署战略合作协议",
)

_NOT_ALNUM = re.compile(r"[\W_]+")

BULLETIN_COLUMNS = (
    "id, title, category_id, region_id, province_id, city_id, published_at, body, source_url, "
    "source_name, credits, amount_yuan, bid_deadline, stage, winner, status, fingerprint, "
    "hidden_lexemes, mask_plan, created_at, updated_at"
)
CONTACT_COLUMNS = "bulletin_id, organization, role, person, title, phone, mobile, email, position"


def _copy_field(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        # str.replace, not str.translate with a dict: translate costs ~1 ms per row here.
        if "\\" in value:
            value = value.replace("\\", "\\\\")
        return value.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return str(value)


def fingerprint(title: str, paragraphs: list[str]) -> str:
    """As news.importing.parser.normalised_fingerprint computes it for imported pages."""
    text = unicodedata.normalize("NFKC", title + "".join(paragraphs))
    return hashlib.sha256(_NOT_ALNUM.sub("", text).encode()).hexdigest()


# --- generator ----------------------------------------------------------------------------


class Generator:
    """Rows for one id range; deterministic for a given seed and first id."""

    def __init__(self, regions, categories, rng: random.Random, now_ts: float):
        self.r = rng
        # (district id, name, city id, name, province id, name, city full name)
        self.regions = regions
        self.region_weights = _region_weights(regions)
        self.region_cum = _cumulative(self.region_weights)
        slugs = [s for s in CATEGORY_WEIGHTS if s in categories]
        self.categories = [(s, categories[s]) for s in slugs]
        self.category_cum = _cumulative([CATEGORY_WEIGHTS[s] for s in slugs])
        self.hub_cum = _cumulative(HUB_WEIGHTS)
        self.now_ts = now_ts
        self.slug_ids = dict(self.categories)
        # Set per bulletin by bulletin(): the planned project's name and its cast.
        self._name = ""
        self._cast: dict | None = None

    def cast(self, pidx: int, name: str, city: str) -> dict:
        """A project's organisations and people, the same in whichever worker draws them."""
        saved, self.r = self.r, random.Random(SEED * 7 + pidx)
        try:
            cast = {
                "owner": self.contact(pidx, self.org(city, ORG_KINDS), "", mobile=0.3, email=0.2),
                "agent": self.contact(
                    pidx, self.org(city, AGENT_KINDS, travel=0.08), "", email=0.6
                ),
                "builder": self.contact(pidx, self.org(city, BUILDER_KINDS, travel=0.05), ""),
                "designer": self.contact(pidx, self.org(city, DESIGN_KINDS, travel=0.05), ""),
            }
        finally:
            self.r = saved
        return cast

    def party(self, i: int, key: str, kinds, role: str, title: str = "", travel=0.0, **kw):
        """The project's own party (same person 85 % of the time), or a new one."""
        if self._cast is None:
            return self.contact(i, self.org(self._city, kinds, travel=travel), role, title, **kw)
        known = self._cast[key]
        if self.r.random() < 0.85:
            return {**known, "role": role, "title": title}
        return self.contact(i, known["organization"], role, title, **kw)

    # small pieces

    def person(self) -> str:
        r = self.r
        return r.choice(SURNAMES) + "".join(r.choice(GIVEN) for _ in range(r.choice((1, 2, 2))))

    def phone(self) -> str:
        r = self.r
        code = r.choice(AREA_CODES)
        digits = 8 if len(code) == 3 or r.random() < 0.7 else 7
        return f"{code}-{r.randint(2, 8)}{r.randint(0, 10 ** (digits - 1) - 1):0{digits - 1}d}"

    def mobile(self) -> str:
        return f"1{self.r.choice('356789')}{self.r.randint(0, 999_999_999):09d}"

    def email(self, i: int) -> str:
        return f"{self.r.choice(MAIL_USERS)}{i % 997}@{self.r.choice(MAIL_DOMAINS)}"

    def hub(self, not_city: str = "") -> str:
        while True:
            hub = self.r.choices(HUBS, cum_weights=self.hub_cum)[0]
            if not not_city.startswith(hub):
                return hub

    def org(self, city: str, kinds, *, travel: float = 0.0) -> str:
        """An organisation of `city`, or (with probability `travel`) of a hub city."""
        where = self.hub(city) if travel and self.r.random() < travel else city
        kind = self.r.choice(kinds)
        if kind.endswith(("局", "委员会")):
            return f"{where}{kind}"  # a government department has no brand name
        return f"{where}{self.r.choice(BRANDS)}{kind}"

    def place(self) -> tuple[str, str]:
        return self.r.choice(PLACES), self.r.choice(PLACE_KINDS)

    def address(self, city: str, district: str) -> str:
        return f"{city}{district}{self.r.choice(PLACES)}路{self.r.randint(1, 399)}号"

    def filler(self, ctx: dict, budget: int) -> list[str]:
        """Paragraphs of 2-4 sentences, about `budget` UTF-8 bytes (one sentence over)."""
        r = self.r
        paragraphs, sentences, size = [], [], 0
        wanted = r.randint(2, 4)
        while size < budget:
            p, k = self.place()
            sentence = r.choice(FILLER).format(
                p=p, k=k, n=r.randint(2, 15), m=r.randint(1, 9), **ctx
            )
            sentences.append(sentence)
            size += len(sentence.encode())
            if len(sentences) == wanted:
                paragraphs.append("".join(sentences))
                sentences, wanted = [], r.randint(2, 4)
                size += 2
        if sentences:
            paragraphs.append("".join(sentences))
        return paragraphs

    def contact_block(self, c: dict, label: str, address: str = "") -> str:
        lines = [f"{label}:{c['organization']}"]
        if address:
            lines.append(f"地址:{address}")
        person = f"联系人:{c['person']}" + (f" 职务:{c['title']}" if c["title"] else "")
        lines.append(person)
        if c["phone"]:
            lines.append(f"电话:{c['phone']}")
        if c["mobile"]:
            lines.append(f"手机:{c['mobile']}")
        if c["email"]:
            lines.append(f"电子邮件:{c['email']}")
        return "\n".join(lines)

    def contact(self, i: int, org: str, role: str, title: str = "", *, mobile=0.5, email=0.4):
        r = self.r
        return {
            "organization": org,
            "role": role,
            "person": self.person(),
            "title": title,
            "phone": self.phone() if r.random() < 0.9 else "",
            "mobile": self.mobile() if r.random() < mobile else "",
            "email": self.email(i) if r.random() < email else "",
        }

    # one bulletin

    def random_region(self) -> int:
        return self.r.choices(range(len(self.regions)), cum_weights=self.region_cum)[0]

    def bulletin(self, i: int, plan=None):
        """`plan`: None (a random bulletin, as before projects), "news", or
        (slug, project index, published timestamp) of a planned project's bulletin."""
        r = self.r
        self._name, self._cast = "", None
        if plan is None or plan == "news":
            region = self.regions[self.random_region()]
            if plan is None:
                slug, category_id = r.choices(self.categories, cum_weights=self.category_cum)[0]
            else:
                slug, category_id = "news", self.slug_ids["news"]
            published = datetime.datetime.fromtimestamp(
                self.now_ts - r.uniform(3600, FIVE_YEARS), tz=SHANGHAI
            ).replace(microsecond=0)
            facility = r.choice(FACILITIES)
        else:
            slug, pidx, ts = plan
            category_id = self.slug_ids[slug]
            region_idx, self._name, facility, _key = _PROJECTS[pidx]
            region = self.regions[region_idx]
            published = datetime.datetime.fromtimestamp(ts, tz=SHANGHAI).replace(microsecond=0)
            self._cast = self.cast(pidx, self._name, region[6])
        self._city = region[6]
        # Titles name the city about 3 times in 4 (else only the district), as the samples do.
        ctx = {"c": region[6], "d": region[1], "f": facility}
        # Bodies of 1-3 KB: the filler overshoots its budget by at most one sentence.
        target = r.randint(1100, 2900)
        title, paragraphs, contacts, extra = getattr(self, f"_{slug}")(i, ctx, published)
        insert_at = extra.pop("insert_at")
        size = sum(len(p.encode()) + 2 for p in paragraphs)
        filler = self.filler(ctx, target - size) if size < target else []
        if filler and r.random() < HUB_SENTENCE_SHARE:
            hub = r.choice(HUB_SENTENCES).format(h=self.hub(ctx["c"]), **ctx)
            filler[0] += hub
        body_size = size + sum(len(p.encode()) + 2 for p in filler)
        while body_size > 3072 and len(filler) > 1:
            body_size -= len(filler.pop().encode()) + 2
        paragraphs[insert_at:insert_at] = filler
        body = "\n\n".join(paragraphs)
        host = r.choice(URL_HOSTS)
        url = f"http://{host}/jyxx/{slug}/{published:%Y%m%d}/bench-{i:08d}.html"
        return {
            "id": i,
            "title": title,
            "category_id": category_id,
            "region": region,
            "published": published,
            "body": body,
            "paragraphs": paragraphs,
            "source_url": url,
            "slug": slug,
            "contacts": contacts,
            **extra,
        }

    def _project_name(self, ctx) -> str:
        p, k = self.place()
        prefix = ctx["c"] + ctx["d"] if self.r.random() < 0.75 else ctx["d"]
        return f"{prefix}{p}{k}{ctx['f']}工程"

    def _tender(self, i, ctx, published):
        r = self.r
        c, d = ctx["c"], ctx["d"]
        project = self._name or self._project_name(ctx)
        scope = r.choice(SCOPES)
        title = f"{project}{scope}{r.choice(('招标公告', '招标公告', '公开招标公告'))}"
        owner = self.party(i, "owner", ORG_KINDS, "招标人", mobile=0.3, email=0.2)
        agent = self.party(i, "agent", AGENT_KINDS, "招标代理", travel=0.08, email=0.6)
        contacts = [owner] + ([agent] if r.random() < 0.85 else [])
        amount = round(r.uniform(80, 60000), 2)
        get_from = published + datetime.timedelta(days=2)
        deadline = (published + datetime.timedelta(days=r.randint(20, 30))).replace(
            hour=r.choice((9, 9, 10, 14)), minute=r.choice((0, 30)), second=0
        )
        p, k = self.place()
        paragraphs = [
            "一、招标条件",
            f"本招标项目{project}已由{c}{d}发展和改革局批准建设,项目业主为"
            f"{owner['organization']},建设资金来自{r.choice(FUNDS)},项目出资比例为100%,"
            f"招标人为{owner['organization']}。项目已具备招标条件,现对该项目的{scope}进行公开招标。",
            "二、项目概况与招标范围",
            f"建设地点:{c}{d}{p}{k}。建设规模:总投资约{r.randint(1, 90)}亿元,主要建设内容包括"
            f"{ctx['f']}及配套工程。招标控制价:{amount:.2f}万元。计划工期:{r.randint(90, 900)}"
            f"日历天。标段划分:一个标段。招标编号:{published.year}{i:09d}。",
            "三、投标人资格要求",
            f"本次招标要求投标人须具备{r.choice(QUALIFICATIONS)},并在人员、设备、资金等方面"
            "具有相应的能力。",
            "四、招标文件的获取",
            f"凡有意参加投标者,请于{get_from.year}年{get_from.month}月{get_from.day}日起登录"
            f"{c}公共资源交易平台下载电子招标文件。",
            "五、投标文件的递交",
            f"投标文件递交的截止时间为{deadline.year}年{deadline.month}月{deadline.day}日"
            f"{deadline.hour}时{deadline.minute:02d}分。",
            "六、联系方式",
            self.contact_block(owner, "招标人", self.address(c, d)),
        ]
        if len(contacts) > 1:
            paragraphs.append(self.contact_block(agent, "招标代理机构", self.address(c, d)))
        extra = {"amount_yuan": int(amount * 10_000), "bid_deadline": deadline, "insert_at": 4}
        return title, paragraphs, contacts, extra

    def _award(self, i, ctx, published):
        r = self.r
        c = ctx["c"]
        project = self._name or self._project_name(ctx)
        # A project's award names the works the way the linker reads back ("X工程施工").
        scope = r.choice(AWARD_SCOPES if self._name else SCOPES)
        title = f"{project}{scope}{r.choice(('中标结果公告', '中标公告', '中标候选人公示'))}"
        owner = self.party(i, "owner", ORG_KINDS, "招标人", mobile=0.2, email=0.1)
        winner = self.party(i, "builder", BUILDER_KINDS, "中标人", "项目经理", travel=0.05)
        agent = self.party(i, "agent", AGENT_KINDS, "招标代理", travel=0.08)
        contacts = [owner, winner] + ([agent] if r.random() < 0.4 else [])
        if r.random() < 0.15:
            contacts = [winner]
        amount = round(r.uniform(50, 90000), 2)
        end = published + datetime.timedelta(days=3)
        paragraphs = [
            f"招标项目名称:{project}{scope}",
            f"招标编号:{published.year}{i:09d}",
            f"招标人:{owner['organization']}",
            f"招标代理:{agent['organization']}",
            f"中标人:{winner['organization']}",
            f"中标价:{amount:,.2f}万元",
            f"工期:{r.randint(90, 900)}日历天",
            f"项目经理:{winner['person']}",
            "质量标准:合格",
            f"评标委员会推荐的中标候选人第二名:{self.org(c, BUILDER_KINDS, travel=0.05)},"
            f"投标报价{amount * r.uniform(1.001, 1.05):.2f}万元;第三名:"
            f"{self.org(c, BUILDER_KINDS, travel=0.05)},"
            f"投标报价{amount * r.uniform(1.01, 1.1):.2f}万元。",
            f"公示期:{published.year}年{published.month}月{published.day}日至{end.year}年{end.month}月"
            f"{end.day}日。投标人或者其他利害关系人对中标结果有异议的,应当在公示期内向招标人提出。",
        ]
        labels = {"招标人": "招标人", "中标人": "中标人", "招标代理": "招标代理机构"}
        insert_at = len(paragraphs) - 1  # before 公示期
        paragraphs += [self.contact_block(x, labels[x["role"]]) for x in contacts]
        extra = {
            "amount_yuan": int(amount * 10_000),
            "winner": winner["organization"],
            "insert_at": insert_at,
        }
        return title, paragraphs, contacts, extra

    def _project(self, i, ctx, published, *, building: bool):
        r = self.r
        c, d = ctx["c"], ctx["d"]
        if self._name:
            kind = ctx["f"]
            p, k = self.place()
            title = self._name if self._name.endswith("项目") else f"{self._name}项目"
        else:
            kind = r.choice(PROJECT_KINDS) if r.random() < 0.4 else ctx["f"]
            ctx["f"] = kind
            p, k = self.place()
            prefix = c + d if r.random() < 0.75 else d
            title = f"{prefix}{p}{k}{kind}{r.choice(PHASES)}项目"
        stage = (
            r.choice(("主体施工", "基础施工", "竣工验收"))
            if building
            else r.choice(("立项", "可研", "规划", "设计", "报批"))
        )
        if r.random() < 0.6:
            investment = f"{r.uniform(0.5, 120):.2f}亿元"
            amount = int(float(investment[:-2]) * 100_000_000)
        else:
            wan = r.uniform(500, 9999)
            investment, amount = f"{wan:.2f}万元", int(wan * 10_000)
        owner = self.party(i, "owner", ORG_KINDS, "业主单位", "项目负责人")
        designer = self.party(i, "designer", DESIGN_KINDS, "设计单位", "设计负责人", travel=0.05)
        builder = self.party(i, "builder", BUILDER_KINDS, "施工单位", "项目经理", travel=0.05)
        contacts = [owner]
        if r.random() < 0.7:
            contacts.append(designer)
        if building:
            contacts.append(builder)
        paragraphs = [
            f"项目名称:{title}",
            f"项目阶段:{stage}",
            f"项目类别:{r.choice(('工业厂房', '市政工程', '公共建筑', '住宅', '商业'))}",
            f"总投资:{investment}",
            f"建设地点:{c}{d}{p}{k}",
            f"建设内容:项目规划总用地面积约{r.randint(20, 900)}亩,总建筑面积约"
            f"{r.randint(1, 60)}.{r.randint(0, 9)}万平方米,新建{kind}及配套设施。",
            f"计划开工时间:{published.year + 1}年{r.randint(1, 12)}月",
            f"项目进展:项目已完成立项备案(备案证号:{d[:2]}行审备〔{published.year}〕{i}号)。",
        ]
        insert_at = len(paragraphs)  # before the contact blocks
        paragraphs += [
            self.contact_block(x, x["role"], self.address(c, d) if n == 0 else "")
            for n, x in enumerate(contacts)
        ]
        extra = {"amount_yuan": amount, "stage": stage, "insert_at": insert_at}
        return title, paragraphs, contacts, extra

    def _proposed(self, i, ctx, published):
        return self._project(i, ctx, published, building=False)

    def _construction(self, i, ctx, published):
        return self._project(i, ctx, published, building=True)

    def _news(self, i, ctx, published):
        r = self.r
        c = ctx["c"]
        hub = self.hub(c)
        event = r.choice(NEWS_EVENTS).format(f=ctx["f"], h=hub)
        title = f"{c}{event}" if r.random() < 0.8 else f"{ctx['d']}{event}"
        paragraphs = [
            f"{published.month}月{published.day}日,{c}{event}。"
            f"{c}{r.choice(('住房和城乡建设局', '发展和改革委员会', '人民政府'))}主要负责同志出席"
            f"并讲话,{ctx['d']}及有关部门、{r.randint(20, 200)}余家企业代表参加。",
            f"会议指出,{ctx['f']}等项目事关民生福祉和城市长远发展,要坚持高标准规划、"
            "高质量建设、高效率推进。",
        ]
        paragraphs.append(f"(记者 {self.person()} 通讯员 {self.person()} 稿件编号 {i})")
        return title, paragraphs, [], {"insert_at": 2}


# --- projects -----------------------------------------------------------------------------

# Set in the parent before the workers fork (they read them, never write):
# per project (region index, name, facility, name_key); per bulletin offset its plan.
_PROJECTS: list = []
_PLAN: dict = {"first_id": 0, "rows": [], "first_project_id": 1}

NEWS_SHARE = CATEGORY_WEIGHTS["news"] / sum(CATEGORY_WEIGHTS.values())
DAY = 86400.0
PHASE_NAMES = ("一期", "二期", "三期", "四期", "五期", "六期", "七期", "八期")
PROJECT_COLUMNS = (
    "id, name, name_key, place_key, region_id, province_id, city_id, stage, work_type, "
    "amount_yuan, last_activity_at, created_at"
)
STAGE_CHANGE_COLUMNS = "project_id, stage, previous, changed_at, bulletin_id, note, recorded_at"
ORGANIZATION_COLUMNS = "id, name, name_key"
PARTY_COLUMNS = "project_id, organization_id, role, first_bulletin_id, first_seen, last_seen"
PROJECT_CONTACT_COLUMNS = (
    "project_id, organization_id, role, person, title, phone, mobile, email, identity, "
    "first_bulletin_id, last_bulletin_id, first_seen, last_seen"
)


def plan_projects(n, regions, categories, now_ts, used_keys: set) -> tuple[list, list]:
    """Group n bulletins into projects, as news.linking would find them.

    News (18 %) belongs to none.  Every other bulletin is a record of a project: 0-3
    tenders (5-25 for 0.3 % of projects, 标段 by 标段), an award for about 72 % of the
    tenders, a proposed record (拟建, before the first tender) for 38 % and a construction
    record (after the last award) for a third; one district, dates in stage order.  Names are
    unique per (name_key, city) -- linking would merge two projects of one name in a city.
    Returns (projects, plan): plan[k] is "news" or (slug, project index, timestamp) for
    bulletin offset k, shuffled over the id range.
    """
    from news.linking import name_key

    rng = random.Random(SEED + 17)
    gen = Generator(regions, categories, rng, now_ts)
    target = n - round(n * NEWS_SHARE)
    projects, members = [], []
    while len(members) < target:
        pidx = len(projects)
        region_idx = gen.random_region()
        region = regions[region_idx]
        x = rng.random()
        tenders = (
            rng.randint(5, 25)
            if x < 0.003
            else 0
            if x < 0.08
            else 1
            if x < 0.78
            else 2
            if x < 0.95
            else 3
        )
        offsets, t, last_award = [], 0.0, None
        if tenders == 0 or rng.random() < 0.38:
            offsets.append(("proposed", 0.0))
            t = rng.uniform(20, 240)
        for _ in range(tenders):
            offsets.append(("tender", t))
            if rng.random() < (0.9 if tenders >= 5 else 0.72):
                last_award = t + rng.uniform(20, 45)
                offsets.append(("award", last_award))
            t += rng.uniform(3, 120)
        if (last_award is not None and rng.random() < 0.33) or (
            tenders == 0 and rng.random() < 0.1
        ):
            offsets.append(("construction", (last_award or t) + rng.uniform(15, 150)))
        span = max(o for _, o in offsets) * DAY
        start = now_ts - rng.uniform(3600, FIVE_YEARS) - span
        place_key = str(region[2])
        for attempt in range(12):
            kinds = rng.random() < 0.1
            facility = rng.choice(PROJECT_KINDS) if kinds else rng.choice(FACILITIES)
            p, k = gen.place()
            prefix = region[6] + region[1] if rng.random() < 0.75 else region[1]
            phase = PHASE_NAMES[attempt - 4] if attempt >= 4 else ""
            name = f"{prefix}{p}{k}{facility}{phase}{'项目' if kinds else '工程'}"
            key = name_key(name)
            if (key, place_key) not in used_keys:
                break
        else:  # 12 names taken: a numbered plot
            name = f"{prefix}{p}{k}{facility}{pidx}号地块工程"
            key = name_key(name)
        used_keys.add((key, place_key))
        projects.append((region_idx, name, facility, key))
        members.extend((slug, pidx, start + off * DAY) for slug, off in offsets)
    del members[target:]  # the last project may lose a record or two
    plan = members + ["news"] * (n - target)
    rng.shuffle(plan)
    return projects, plan


def _iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, tz=SHANGHAI).isoformat()


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value or "")


def build_projects(facts, regions, first_project_id, orgs: dict, next_org_id: int):
    """The project tables as news.linking.project_link_bulletin fills them, linking each
    project's bulletins in (published_at, id) order.  facts: per linked bulletin
    (project index, id, published ts, stage, amount, linked name, work type, contacts,
    winner).  Returns COPY buffers and counts."""
    from news.linking import _PARTY_ROLES, name_key, organization_key

    out = {t: io.StringIO() for t in ("project", "change", "org", "party", "contact")}
    counts = dict.fromkeys(out, 0)

    def write(table, row):
        out[table].write("\t".join(map(_copy_field, row)))
        out[table].write("\n")
        counts[table] += 1

    def organization(name: str):
        key = organization_key(name)
        if len(key) < 2:
            return None
        if key not in orgs:
            nonlocal next_org_id
            orgs[key] = next_org_id
            write("org", (next_org_id, name.strip(), key))
            next_org_id += 1
        return orgs[key]

    facts.sort(key=lambda f: (f[0], f[2], f[1]))
    per_project = []
    for pidx, group in itertools.groupby(facts, key=lambda f: f[0]):
        group = list(group)
        pid = first_project_id + pidx
        region = regions[_PROJECTS[pidx][0]]
        first = group[0]
        name = first[5]
        stage, amount, last = None, first[4], first[2]
        parties: dict = {}
        contacts: dict = {}  # person -> [row lists]
        identities: set = set()
        for _pidx, bid, ts, st, amt, _name, _wt, bcontacts, winner in group:
            if st and (stage is None or st > stage):
                write("change", (pid, st, stage, _iso(ts), bid, "", _iso(ts)))
                stage = st
            if ts > last:
                if amt:
                    amount = amt
                last = ts
            elif amt and ts >= last:
                amount = amt
            by_name = {}
            pairs = [(c[0], c[1]) for c in bcontacts if c[0]]
            if winner:
                pairs.append((winner, "中标人"))
            for org_name, role in pairs:
                by_name[org_name] = by_name.get(org_name) or organization(org_name)
                party_role = _PARTY_ROLES.get(role)
                if by_name[org_name] is None or party_role is None:
                    continue
                known = parties.get((by_name[org_name], party_role))
                if known is None:
                    parties[(by_name[org_name], party_role)] = [bid, ts, ts]
                elif ts > known[2]:
                    known[2] = ts
            for org_name, role, person, title, phone, mobile, email in bcontacts:
                if not person:
                    continue
                numbers = {v for v in (_digits(phone), _digits(mobile)) if v}
                if email:
                    numbers.add(email.lower())
                row = None
                for candidate in contacts.get(person.strip(), ()):
                    if numbers & candidate[-1] or not numbers or not candidate[-1]:
                        row = candidate
                        break
                if row is None:
                    number = _digits(mobile or phone) or email.lower()
                    identity = f"{person.strip()}|{number}"[:120]
                    if identity in identities:
                        continue  # linking's IntegrityError: nothing new
                    identities.add(identity)
                    row = [
                        by_name.get(org_name),
                        role,
                        person,
                        title,
                        phone,
                        mobile,
                        email,
                        identity,
                        bid,
                        bid,
                        ts,
                        ts,
                        numbers,
                    ]
                    contacts.setdefault(person.strip(), []).append(row)
                    continue
                if ts >= row[11]:
                    row[9], row[11] = bid, ts
                for n, value in ((3, title), (4, phone), (5, mobile), (6, email)):
                    if not row[n] and value:
                        row[n] = value
                        if n in (4, 5):
                            row[-1].add(_digits(value))
                        elif n == 6:
                            row[-1].add(value.lower())
        write(
            "project",
            (
                pid,
                name,
                name_key(name),
                str(region[2]),
                region[0],
                region[4],
                region[2],
                stage,
                first[6],
                amount,
                _iso(last),
                _iso(first[2]),
            ),
        )
        for (org_id, role), (bid, first_seen, last_seen) in parties.items():
            write("party", (pid, org_id, role, bid, _iso(first_seen), _iso(last_seen)))
        for rows in contacts.values():
            for row in rows:
                write("contact", (pid, *row[:10], _iso(row[10]), _iso(row[11])))
        per_project.append(len(group))
    return out, counts, per_project


def _region_weights(regions) -> list[float]:
    per_province: dict[int, int] = {}
    per_city: dict[int, int] = {}
    for row in regions:
        per_province[row[4]] = per_province.get(row[4], 0) + 1
        per_city[row[2]] = per_city.get(row[2], 0) + 1
    city_name = {row[2]: row[3] for row in regions}
    cities_of: dict[int, set] = {}
    for row in regions:
        cities_of.setdefault(row[4], set()).add(row[2])
    city_total = {
        p: sum(CITY_WEIGHTS.get(city_name[cid], 1) for cid in cities)
        for p, cities in cities_of.items()
    }
    weights = []
    for _district_id, _d, city_id, city, province_id, province, _full in regions:
        w_province = PROVINCE_WEIGHTS.get(province, OTHER_PROVINCE_WEIGHT)
        w_city = CITY_WEIGHTS.get(city, 1) / city_total[province_id]
        weights.append(w_province * w_city / per_city[city_id])
    return weights


def _cumulative(weights) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


# --- workers ------------------------------------------------------------------------------

_STATE: dict = {}


def _worker_init(url, regions, categories, category_names, now_ts, title_vector, lsh):
    from news.search import bulletin_index_fields

    conn = connect(url)
    with conn.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
    conn.commit()
    _STATE.update(
        conn=conn,
        regions=regions,
        categories=categories,
        now_ts=now_ts,
        bulletin_index_fields=bulletin_index_fields,
        title_vector=title_vector,
        category_names=category_names,
        lsh=lsh,
    )


def _load_chunk(task):
    first_id, count = task
    started = time.perf_counter()
    rng = random.Random(SEED * 1_000_003 + first_id)
    gen = Generator(_STATE["regions"], _STATE["categories"], rng, _STATE["now_ts"])
    from news.importing.near_duplicates import signature_bands
    from news.linking import bulletin_stage, name_key, project_name, work_type

    index_fields, title_vector = _STATE["bulletin_index_fields"], _STATE["title_vector"]
    columns = BULLETIN_COLUMNS + (", title_vector, contact_vector" if title_vector else "")
    columns += ", project_id"
    bulletins, contacts, lsh = io.StringIO(), io.StringIO(), io.StringIO()
    n_contacts = n_lsh = mismatches = 0
    lsh_s = 0.0
    facts = []
    plan_rows, plan_first = _PLAN["rows"], _PLAN["first_id"]
    names = _STATE["category_names"]
    for i in range(first_id, first_id + count):
        plan = plan_rows[i - plan_first] if plan_rows else None
        b = gen.bulletin(i, plan)
        region = b["region"]
        project_id = None
        if plan is not None and plan != "news":
            # What news.linking reads from this bulletin: the name, stage and work type.
            pidx = plan[1]
            project_id = _PLAN["first_project_id"] + pidx
            stub = SimpleNamespace(
                title=b["title"],
                body=b["body"],
                stage=b.get("stage", ""),
                winner=b.get("winner", ""),
                category=SimpleNamespace(name=names[b["slug"]]),
            )
            linked = project_name(stub)
            if name_key(linked) != _PROJECTS[pidx][3]:
                mismatches += 1
            stage = bulletin_stage(stub)
            facts.append(
                (
                    pidx,
                    i,
                    b["published"].timestamp(),
                    int(stage) if stage is not None else 0,
                    b.get("amount_yuan"),
                    linked,
                    str(work_type(linked, b["body"])),
                    [
                        tuple(
                            c[f]
                            for f in (
                                "organization",
                                "role",
                                "person",
                                "title",
                                "phone",
                                "mobile",
                                "email",
                            )
                        )
                        for c in b["contacts"]
                    ],
                    b.get("winner", ""),
                )
            )
        if _STATE["lsh"]:
            t_lsh = time.perf_counter()
            for key in signature_bands(b["body"]):
                lsh.write(f"{key}\t{i}\n")
                n_lsh += 1
            lsh_s += time.perf_counter() - t_lsh
        published = b["published"].isoformat()
        deadline = b.get("bid_deadline")
        values = [c[f] for c in b["contacts"] for f in ("person", "phone", "mobile", "email")]
        fields = index_fields(
            title=b["title"], body=b["body"], contact_values=[v for v in values if v]
        )
        row = (
            i,
            b["title"],
            b["category_id"],
            region[0],
            region[4],
            region[2],
            published,
            b["body"],
            b["source_url"],
            "",  # source_name: the generated pages name no 来源
            "{}",
            b.get("amount_yuan"),
            deadline.isoformat() if deadline else None,
            b.get("stage", ""),
            b.get("winner", ""),
            "published",
            fingerprint(b["title"], b["paragraphs"]),
            fields.hidden_lexemes,
            fields.mask_plan,
            published,
            published,
        )
        if title_vector:  # as Bulletin.save() sets them (migrations 0004 and 0006 on)
            row += (fields.title_vector, fields.contact_vector)
        row += (project_id,)
        bulletins.write("\t".join(map(_copy_field, row)))
        bulletins.write("\n")
        for position, c in enumerate(b["contacts"]):
            fields = ("organization", "role", "person", "title", "phone", "mobile", "email")
            contact_row = (i, *(c[f] for f in fields), position)
            contacts.write("\t".join(map(_copy_field, contact_row)))
            contacts.write("\n")
            n_contacts += 1
    generated = time.perf_counter()
    conn = _STATE["conn"]
    size = bulletins.tell()
    bulletins.seek(0)
    contacts.seek(0)
    lsh.seek(0)
    with conn.cursor() as cur:
        cur.copy_expert(f"COPY news_bulletin ({columns}) FROM STDIN", bulletins)
        cur.copy_expert(f"COPY news_contact ({CONTACT_COLUMNS}) FROM STDIN", contacts)
        copied = time.perf_counter()
        if n_lsh:
            cur.copy_expert("COPY news_lshbucket (key, bulletin_id) FROM STDIN", lsh)
    conn.commit()
    done = time.perf_counter()
    return {
        "count": count,
        "contacts": n_contacts,
        "bytes": size,
        "generate_s": generated - started,
        "copy_s": copied - generated,
        "lsh_s": lsh_s,
        "lsh_copy_s": done - copied,
        "lsh_rows": n_lsh,
        "facts": facts,
        "mismatches": mismatches,
    }


# --- schema handling ----------------------------------------------------------------------

TABLES = (
    "news_bulletin",
    "news_contact",
    "news_lshbucket",
    "news_project",
    "news_projectstagechange",
    "news_organization",
    "news_projectparty",
    "news_projectcontact",
)
PROJECT_TABLES = TABLES[3:]
# Unique constraints of these tables are dropped for the load too, and news_lshbucket's
# primary key (key, bulletin): 20 random keys per bulletin into a b-tree is the slow way.
DROP_PRIMARY_KEY = ("news_lshbucket",)


def _schema_file(url: str) -> Path:
    return ROOT / "var" / "bench" / f"{db_name(url)}-schema.json"


def save_and_drop_secondary(conn, url: str) -> dict:
    """Save the definitions of secondary indexes and FKs (merging an unfinished run's), drop."""
    path = _schema_file(url)
    saved = json.loads(path.read_text()) if path.exists() else {"indexes": {}, "fks": {}}
    saved.setdefault("constraints", {})
    with conn.cursor() as cur:
        cur.execute(
            """
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
              AND NOT EXISTS (
                SELECT 1 FROM pg_constraint c
                WHERE c.conindid = (quote_ident(i.indexname))::regclass)
            """,
            [list(TABLES)],
        )
        indexes = dict(cur.fetchall())
        cur.execute(
            """
            SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
            FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)
            """,
            [list(TABLES)],
        )
        fks = {name: [table, definition] for table, name, definition in cur.fetchall()}
        cur.execute(
            """
            SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
            FROM pg_constraint WHERE conrelid::regclass::text = ANY(%s)
              AND (contype = 'u' OR (contype = 'p' AND conrelid::regclass::text = ANY(%s)))
            """,
            [list(TABLES), list(DROP_PRIMARY_KEY)],
        )
        constraints = {name: [table, definition] for table, name, definition in cur.fetchall()}
        saved["indexes"].update(indexes)
        saved["fks"].update(fks)
        saved["constraints"].update(constraints)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(saved, ensure_ascii=False, indent=1))
        for name, (table, _definition) in fks.items():
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, (table, _definition) in constraints.items():
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name in indexes:
            cur.execute(f'DROP INDEX "{name}"')
    conn.commit()
    return saved


def restore_secondary(conn, url: str, saved: dict) -> list[tuple[str, float]]:
    timings = []
    with conn.cursor() as cur:
        cur.execute("SET maintenance_work_mem = '2GB'")
        cur.execute("SET max_parallel_maintenance_workers = 2")
        for name, definition in saved["indexes"].items():
            cur.execute("SELECT to_regclass(%s)", [name])
            if cur.fetchone()[0] is not None:
                continue
            started = time.perf_counter()
            cur.execute(definition)
            conn.commit()
            timings.append((name, time.perf_counter() - started))
            print(f"  index {name}: {timings[-1][1]:.1f} s", flush=True)
        for name, (table, definition) in saved.get("constraints", {}).items():
            cur.execute("SELECT 1 FROM pg_constraint WHERE conname = %s", [name])
            if cur.fetchone():
                continue
            started = time.perf_counter()
            cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            conn.commit()
            timings.append((f"{name} ({table})", time.perf_counter() - started))
            print(f"  constraint {name} ({table}): {timings[-1][1]:.1f} s", flush=True)
        for name, (table, definition) in saved["fks"].items():
            cur.execute("SELECT 1 FROM pg_constraint WHERE conname = %s", [name])
            if cur.fetchone():
                continue
            started = time.perf_counter()
            cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            conn.commit()
            timings.append((f"{name} (FK)", time.perf_counter() - started))
            print(f"  foreign key {name}: {timings[-1][1]:.1f} s", flush=True)
    conn.commit()
    _schema_file(url).unlink(missing_ok=True)
    return timings


# --- main ---------------------------------------------------------------------------------


def ensure_database(url: str, fresh: bool) -> None:
    name = db_name(url)
    admin = connect(admin_url(url))
    admin.autocommit = True
    with admin.cursor() as cur:
        if fresh:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            _schema_file(url).unlink(missing_ok=True)
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cur.fetchone():
            cur.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}", flush=True)
    admin.close()


def check_columns(conn) -> bool:
    """Whether news_bulletin has title_vector; fail early on a column COPY would miss."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT column_name, is_nullable = 'NO' AND column_default IS NULL "
            "AND is_identity = 'NO' FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = 'news_bulletin'"
        )
        columns = dict(cur.fetchall())
    ours = {c.strip() for c in BULLETIN_COLUMNS.split(",")} | {"title_vector", "contact_vector"}
    missing = sorted(c for c, required in columns.items() if required and c not in ours)
    if missing:
        sys.exit(f"news_bulletin has required columns this seeder does not fill: {missing}")
    return "title_vector" in columns


def load_reference(conn):
    with conn.cursor() as cur:
        cur.execute(
            """
            SELECT d.id, d.name, c.id, c.name, p.id, p.name,
                   coalesce(nullif(c.full_name, ''), c.name)
            FROM news_region d
            JOIN news_region c ON c.id = d.parent_id AND c.level = 2
            JOIN news_region p ON p.id = c.parent_id AND p.level = 1
            WHERE d.level = 3 ORDER BY d.id
            """
        )
        regions = cur.fetchall()
        cur.execute("SELECT slug, id FROM news_category")
        categories = dict(cur.fetchall())
    if not regions or not categories:
        sys.exit("no regions / categories: did migrate run?")
    return regions, categories


def print_sizes(conn) -> None:
    with conn.cursor() as cur:
        for table in TABLES:
            cur.execute(
                "SELECT pg_total_relation_size(%s), pg_relation_size(%s), "
                "pg_total_relation_size(%s) - pg_relation_size(%s) - pg_indexes_size(%s), "
                "pg_indexes_size(%s)",
                [table] * 6,
            )
            total, heap, toast, indexes = cur.fetchone()
            cur.execute(f"SELECT count(*) FROM {table}")
            print(
                f"{table}: {cur.fetchone()[0]:,} rows, total {mib(total)} (heap {mib(heap)}, "
                f"toast {mib(toast)}, indexes {mib(indexes)})"
            )
            cur.execute(
                "SELECT indexrelname, pg_relation_size(indexrelid) FROM pg_stat_user_indexes "
                "WHERE relname = %s ORDER BY 2 DESC",
                [table],
            )
            for name, size in cur.fetchall():
                print(f"  {name:<45} {mib(size):>12}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=1_000_000, help="bulletins to add")
    parser.add_argument("--database-url", default=BENCH_DB_URL)
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the database")
    parser.add_argument("--workers", type=int, default=2, help="row-generating processes")
    parser.add_argument(
        "--no-lsh", action="store_true", help="leave news_lshbucket empty (no MinHash bands)"
    )
    args = parser.parse_args(argv)
    url = args.database_url
    phases: list[tuple[str, float]] = []
    t0 = time.perf_counter()

    ensure_database(url, args.fresh)
    setup_django(url)
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", interactive=False, verbosity=0)
    connections.close_all()  # no Django connection may cross the fork below
    phases.append(("create + migrate", time.perf_counter() - t0))

    conn = connect(url)
    regions, categories = load_reference(conn)
    title_vector = check_columns(conn)
    with conn.cursor() as cur:
        cur.execute("SELECT coalesce(max(id), 0) FROM news_bulletin")
        first_id = cur.fetchone()[0] + 1
        cur.execute("SELECT slug, name FROM news_category")
        category_names = dict(cur.fetchall())
        cur.execute("SELECT coalesce(max(id), 0) FROM news_project")
        first_project_id = cur.fetchone()[0] + 1
        cur.execute("SELECT name_key, place_key FROM news_project WHERE merged_into_id IS NULL")
        used_keys = set(cur.fetchall())
        cur.execute("SELECT name_key, id FROM news_organization")
        orgs = dict(cur.fetchall())
        cur.execute("SELECT coalesce(max(id), 0) FROM news_organization")
        next_org_id = cur.fetchone()[0] + 1

    now_ts = time.time()
    t = time.perf_counter()
    projects, plan = plan_projects(args.n, regions, categories, now_ts, used_keys)
    _PROJECTS[:] = projects
    _PLAN.update(first_id=first_id, rows=plan, first_project_id=first_project_id)
    phases.append(("plan projects", time.perf_counter() - t))
    print(
        f"planned {len(projects):,} projects for {sum(x != 'news' for x in plan):,} of "
        f"{args.n:,} bulletins (ids from {first_project_id:,}) in {phases[-1][1]:.1f} s",
        flush=True,
    )

    t = time.perf_counter()
    saved = save_and_drop_secondary(conn, url)
    phases.append(("drop indexes + FKs", time.perf_counter() - t))
    print(
        f"loading {args.n:,} bulletins (ids from {first_id:,}) with {args.workers} workers; "
        f"{len(regions)} districts, {len(categories)} categories; dropped "
        f"{len(saved['indexes'])} indexes, {len(saved['fks'])} foreign keys, "
        f"{len(saved['constraints'])} unique / primary-key constraints "
        f"({', '.join(sorted(saved['constraints']))}); LSH bands "
        f"{'off' if args.no_lsh else 'on'}",
        flush=True,
    )

    conn.close()  # nor may this one: workers open their own
    tasks = [
        (start, min(CHUNK, first_id + args.n - start))
        for start in range(first_id, first_id + args.n, CHUNK)
    ]
    t = time.perf_counter()
    done = n_contacts = copied_bytes = lsh_rows = mismatches = 0
    gen_s = copy_s = lsh_s = lsh_copy_s = 0.0
    facts: list = []
    next_report = 0.0
    ctx = multiprocessing.get_context("fork")
    init_args = (url, regions, categories, category_names, now_ts, title_vector, not args.no_lsh)
    with ctx.Pool(args.workers, initializer=_worker_init, initargs=init_args) as pool:
        for r in pool.imap_unordered(_load_chunk, tasks):
            done += r["count"]
            n_contacts += r["contacts"]
            copied_bytes += r["bytes"]
            gen_s += r["generate_s"]
            copy_s += r["copy_s"]
            lsh_s += r["lsh_s"]
            lsh_copy_s += r["lsh_copy_s"]
            lsh_rows += r["lsh_rows"]
            mismatches += r["mismatches"]
            facts.extend(r["facts"])
            elapsed = time.perf_counter() - t
            if done / args.n >= next_report or done == args.n:
                print(
                    f"  {done:>10,} / {args.n:,} rows  {elapsed:7.1f} s  "
                    f"{done / elapsed:,.0f} rows/s",
                    flush=True,
                )
                next_report += 0.05
    load_s = time.perf_counter() - t
    phases.append(("generate + COPY", load_s))
    print(
        f"loaded {done:,} bulletins + {n_contacts:,} contacts + {lsh_rows:,} LSH rows in "
        f"{load_s:.1f} s = {done / load_s:,.0f} rows/s ({copied_bytes / 1e9:.2f} GB bulletin "
        f"COPY text; worker time: generate {gen_s:.0f} s of which MinHash bands {lsh_s:.0f} s, "
        f"COPY {copy_s:.0f} s, LSH COPY {lsh_copy_s:.0f} s)",
        flush=True,
    )
    print(
        f"linked bulletins: {len(facts):,}; linker name differing from the plan: {mismatches}",
        flush=True,
    )

    t = time.perf_counter()
    buffers, counts, per_project = build_projects(
        facts, regions, first_project_id, orgs, next_org_id
    )
    del facts
    built = time.perf_counter() - t
    conn = connect(url)
    with conn.cursor() as cur:
        for table, name, columns in (
            ("project", "news_project", PROJECT_COLUMNS),
            ("org", "news_organization", ORGANIZATION_COLUMNS),
            ("change", "news_projectstagechange", STAGE_CHANGE_COLUMNS),
            ("party", "news_projectparty", PARTY_COLUMNS),
            ("contact", "news_projectcontact", PROJECT_CONTACT_COLUMNS),
        ):
            buffers[table].seek(0)
            cur.copy_expert(f"COPY {name} ({columns}) FROM STDIN", buffers[table])
        for table in ("news_bulletin", "news_project", "news_organization"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT greatest(max(id), 1) FROM {table}))"
            )
    conn.commit()
    del buffers
    phases.append(("projects: build + COPY", time.perf_counter() - t))
    sizes = sorted(per_project)
    print(
        f"projects: {counts['project']:,} (built in {built:.1f} s, COPY "
        f"{phases[-1][1] - built:.1f} s); stage changes {counts['change']:,}, organisations "
        f"{counts['org']:,}, parties {counts['party']:,}, project contacts "
        f"{counts['contact']:,}; bulletins per project: median "
        f"{sizes[len(sizes) // 2] if sizes else 0}, max {sizes[-1] if sizes else 0}",
        flush=True,
    )

    t = time.perf_counter()
    print("rebuilding indexes and foreign keys (maintenance_work_mem = 2GB)", flush=True)
    timings = restore_secondary(conn, url, saved)
    phases.append(("indexes + FKs", time.perf_counter() - t))

    t = time.perf_counter()
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"VACUUM ANALYZE {', '.join(TABLES)}")
        # The planner joins these on every list query; a fresh database has no statistics.
        cur.execute("ANALYZE news_region, news_category")
    phases.append(("VACUUM ANALYZE", time.perf_counter() - t))
    total = time.perf_counter() - t0

    print("\nphases:")
    for name, seconds in phases:
        print(f"  {name:<24} {seconds:8.1f} s")
    print(f"  {'total':<24} {total:8.1f} s  ({done / total:,.0f} rows/s overall)")
    if not args.no_lsh:
        # Wall-clock share of the MinHash bands: their worker time spread over the workers,
        # their COPY, and the news_lshbucket index / key / FK builds.
        lsh_index_s = sum(s for name, s in timings if "lshbucket" in name)
        lsh_wall = (lsh_s + lsh_copy_s) / max(1, args.workers) + lsh_index_s
        print(
            f"  LSH bands (estimate): {lsh_wall:.0f} s = MinHash {lsh_s:.0f} s + COPY "
            f"{lsh_copy_s:.0f} s over {args.workers} workers, indexes {lsh_index_s:.0f} s: "
            f"+{100 * lsh_wall / max(1.0, total - lsh_wall):.0f} % over seeding without them"
        )
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM news_bulletin")
        rows = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM news_contact")
        contacts_total = cur.fetchone()[0]
        cur.execute("SELECT count(*), count(project_id) FROM news_bulletin")
        _all, linked = cur.fetchone()
    print(
        f"\nnews_bulletin rows: {rows:,} ({linked:,} with a project); news_contact rows: "
        f"{contacts_total:,}"
    )
    print_sizes(conn)
    conn.close()


if __name__ == "__main__":
    main()
