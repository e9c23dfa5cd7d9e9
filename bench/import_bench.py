"""Import benchmark: generate sample-like bulletin pages and import them into PostgreSQL.

    .venv/bin/python bench/import_bench.py                # 10,000 files, fresh portal_bench DB
    .venv/bin/python bench/import_bench.py --files 1000   # quick check
    .venv/bin/python bench/import_bench.py --profile      # + cProfile and per-query timings

Pages follow demo/bulletins exactly (header boilerplate, title, ``YYYY-MM-DD 省-市-区``,
``所在地区: … 发布日期: …``, ``<分类>正文``, body, contact blocks, source-URL line, footer).
Every page is unique (title and URL), so a correct run imports all of them.

Two timings over the same files:
  (a) parse only: news.importing.parse_bytes + normalised_fingerprint per file;
  (b) end to end: run_import(sources_from_paths([folder]), publish=True) into PostgreSQL.
The store share is (b) - (a): file reading, duplicate checks, region/category look-ups,
validation and the INSERTs.  Target: >= 300 files/s end to end.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import commit_id  # noqa: E402  (after the path is set)

DEFAULT_DB_NAME = "portal_bench"
DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
TARGET_FILES_PER_S = 300
SEED = 20241012
SHANGHAI = ZoneInfo("Asia/Shanghai")

HEADER = "办理会员咨询热线:4000-156-001"
# The site footer of demo/bulletins, line by line (blank lines between paragraphs).
FOOTER = "\n".join(
    (
        "按照客观、公正、公开的原则,本条信息受业主方委托独家指定在"
        "中国建设招标网 www.fordpalmbay.com 发布",
        "",
        "注册会员 享受贴心服务",
        "",
        "标讯查询服务",
        "",
        "让您全面及时掌握全国各省市拟建、报批、立项、施工在建项目的项目信息。",
        "",
        "帮您跟对合适的项目、找对准确的负责人、全面掌握各项目的业主单位、设计院、"
        "总包单位、施工企业的项目 经理、项目负责人的详细联系方式。",
        "",
        "帮您第一时间获得全国项目业主、招标代理公司和政府采购中心发布的招标、中标项目信息。",
        "",
        "标讯定制服务",
        "",
        "根据您的关注重点定制项目,从海量项目中筛选出符合您要求和标准的工程"
        "并及时找出关键负责人和联系方式。",
        "",
        "根据您的需要,向您指定的手机、电子邮箱及时反馈项目进展情况。",
        "",
        "咨询热线:4000-156-001",
        "意 见",
        "反 馈",
        "在 线",
        "沟 通",
        "",
    )
)

# Used only when the region table cannot be read (it always can after migrate).
FALLBACK_REGIONS = (
    ("江苏", "镇江", "京口区"),
    ("江苏", "镇江", "润州区"),
    ("江苏", "常州", "武进区"),
    ("浙江", "杭州", "西湖区"),
    ("上海", "上海", "普陀区"),
    ("广东", "广州", "天河区"),
)


def _pairs(text: str) -> tuple[str, ...]:
    """'港南金港人民' -> ('港南', '金港', '人民')."""
    return tuple(text[i : i + 2] for i in range(0, len(text), 2))


# --- vocabulary -------------------------------------------------------------------------------

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵"
)
GIVEN = "建明晓燕国庆丽卫东敏志强海涛伟芳军红霞勇杰娟磊洋艳斌玲超华平刚桂英文辉鹏飞宇婷雪梅俊峰"
PLACES = _pairs(
    "港南金港人民解放中山建设长江东方新华和平滨江湖滨学府科技文昌青年朝阳振兴望湖锦绣"
    "龙湾凤凰翠屏桃源丁卯南徐北固西津云台黄山太湖运河东湖梅园金山银湖星海丰乐永安长兴"
    "清河白鹭玉泉紫金天目栖霞临江高新经开双龙"
)
PLACE_KINDS = ("路", "大道", "街", "片区", "园区", "新城", "镇", "街道")
FACILITIES = (
    "道路提升改造",
    "雨污分流改造",
    "老旧小区改造",
    "中学改扩建",
    "小学新建",
    "幼儿园新建",
    "污水处理厂提标改造",
    "综合管廊",
    "人民医院门急诊楼",
    "体育中心",
    "安置房",
    "公园绿化提升",
    "跨河桥梁新建",
    "河道综合整治",
    "供水管网改造",
    "智慧停车场",
    "文化艺术中心",
    "标准厂房",
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
PHASES = ("", "一期", "二期", "三期")
SCOPES = ("施工", "施工总承包", "监理", "勘察设计", "EPC总承包", "设计施工总承包")
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
BRANDS = _pairs(
    "华信华东中诚恒信正达宏图远大中建华建泰和永信天成金鼎博远卓越宏泰联创同济东南长城"
    "建安鼎盛中科华设新城安泰众诚明达骏业广厦"
)
AREA_CODES = ("010", "021", "022", "025", "0511", "0519", "0512", "0571", "0574", "020", "0755")
MAIL_DOMAINS = ("example.com", "example.cn", "example.org", "example.net")
MAIL_USERS = ("bid", "zbdl", "design", "office", "pm", "contact", "service", "project", "xmb")
LICENCE_PREFIX = "苏浙沪粤京鲁豫皖闽湘鄂川"
URL_HOSTS = (
    "ggzy.zhenjiang.gov.cn",
    "ggzy.hangzhou.gov.cn",
    "ciac.zjw.sh.gov.cn",
    "ggzy.gz.gov.cn",
    "www.wj.gov.cn",
    "jsggzy.jszwfw.gov.cn",
    "zjpubservice.zjzwfw.gov.cn",
    "ygp.gdzwfw.gov.cn",
    "www.ccgp.gov.cn",
    "ggzyjy.example.gov.cn",
)

# Neutral prose for padding bodies to 1-3 KB: no "label:" lines, no amounts, no footer words.
FILLER = (
    "项目建成后将进一步完善{d}基础设施配套,提升区域综合承载能力和公共服务水平。",
    "{d}坚持规划引领、分步实施,统筹推进{f}与周边片区开发建设,确保工程质量和施工安全。",
    "建设过程中将严格落实扬尘治理和文明施工各项要求,最大限度减少对周边群众生产生活的影响。",
    "该项目是{c}今年重点推进的民生实事项目之一,社会关注度高,各相关部门将加强协调、形成合力。",
    "项目实施范围内涉及的管线迁改、交通导改等前期工作已基本完成,具备开工建设条件。",
    "施工单位应按照国家现行规范和标准组织施工,建立健全质量安全管理体系,落实主体责任。",
    "{d}将以此为契机,加快补齐城市功能短板,持续改善人居环境,不断增强群众获得感和幸福感。",
    "工程采用装配式建造和绿色施工技术,统筹考虑节能降耗和海绵城市理念,打造示范工程。",
    "项目周边交通便利,距离{p}{k}约{n}公里,配套市政道路和供水供电设施较为完善。",
    "相关部门表示,将加强项目全过程跟踪服务,及时协调解决建设中遇到的困难和问题。",
    "根据前期调研,{f}项目的实施将惠及周边{n}个社区约{m}万名居民。",
    "下一步,{c}将继续加大重大项目招引和建设力度,以项目建设的实效推动经济社会高质量发展。",
    "项目设计充分尊重{p}片区历史文脉和自然肌理,注重功能复合与空间品质提升。",
    "建设单位将强化工程进度管理,倒排工期、挂图作战,确保项目按期建成投入使用。",
)
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
)


@dataclass
class Page:
    name: str
    text: str
    title: str
    published: datetime.date
    region: tuple[str, str, str]
    category: str
    source_url: str
    amount_yuan: int | None = None
    deadline: datetime.datetime | None = None
    contacts: int = 0
    extra: dict = field(default_factory=dict)


class Generator:
    """Deterministic (seeded) generator of unique sample-like pages."""

    CATEGORIES = (
        ("招标公告", "tender", 35),
        ("中标公告", "award", 25),
        ("拟建项目", "proposed", 15),
        ("在建项目", "construction", 10),
        ("建设快讯", "news", 15),
    )

    def __init__(self, regions, seed: int = SEED):
        self.rng = random.Random(seed)
        self.seed = seed
        self.regions = list(regions)
        self.titles: set[str] = set()
        self.start = datetime.date(2023, 1, 1)
        self.days = (datetime.date(2025, 6, 30) - self.start).days
        cats = self.CATEGORIES
        self._cat_names = [c[0] for c in cats]
        self._cat_slugs = {c[0]: c[1] for c in cats}
        self._cat_weights = [c[2] for c in cats]

    # --- small pieces ---------------------------------------------------------------------

    def person(self) -> str:
        r = self.rng
        return r.choice(SURNAMES) + "".join(r.choice(GIVEN) for _ in range(r.choice((1, 2, 2))))

    def phone(self) -> str:
        r = self.rng
        code = r.choice(AREA_CODES)
        digits = 8 if len(code) == 3 or r.random() < 0.7 else 7
        return f"{code}-{r.randint(2, 8)}{r.randint(0, 10 ** (digits - 1) - 1):0{digits - 1}d}"

    def mobile(self) -> str:
        r = self.rng
        return f"1{r.choice('356789')}{r.randint(0, 999_999_999):09d}"

    def email(self, i: int) -> str:
        r = self.rng
        return f"{r.choice(MAIL_USERS)}{i}@{r.choice(MAIL_DOMAINS)}"

    def org(self, city: str, kinds) -> str:
        return f"{city}{self.rng.choice(BRANDS)}{self.rng.choice(kinds)}"

    def place(self) -> tuple[str, str]:
        return self.rng.choice(PLACES), self.rng.choice(PLACE_KINDS)

    def address(self, city: str, district: str) -> str:
        p, _ = self.place()
        return f"{city}市{district}{p}路{self.rng.randint(1, 399)}号"

    def wan(self, low: float, high: float) -> tuple[str, int]:
        """'3860.52' (万元) and its value in yuan."""
        value = Decimal(str(round(self.rng.uniform(low, high), 2)))
        return f"{value:.2f}", int((value * 10_000).quantize(Decimal(1), ROUND_HALF_UP))

    def filler(self, city: str, district: str, facility: str, target_bytes: int) -> list[str]:
        r = self.rng
        paragraphs: list[str] = []
        size = 0
        while size < target_bytes:
            sentences = []
            for _ in range(r.randint(2, 4)):
                p, k = self.place()
                sentences.append(
                    r.choice(FILLER).format(
                        c=city,
                        d=district,
                        f=facility,
                        p=p,
                        k=k,
                        n=r.randint(2, 15),
                        m=r.randint(1, 9),
                    )
                )
            paragraphs.append("".join(sentences))
            size += len(paragraphs[-1].encode()) + 2
        return paragraphs

    def unique_title(self, make) -> str:
        for _ in range(20):
            title = make()
            if title not in self.titles:
                break
        k = 2
        while title in self.titles:
            title = f"{make()}(第{k}批)"
            k += 1
        self.titles.add(title)
        return title

    # --- pages ----------------------------------------------------------------------------

    def page(self, i: int) -> Page:
        r = self.rng
        category = r.choices(self._cat_names, self._cat_weights)[0]
        region = r.choice(self.regions)
        published = self.start + datetime.timedelta(days=r.randrange(self.days))
        slug = self._cat_slugs[category]
        host = r.choice(URL_HOSTS)
        url = (
            f"http://{host}/jyxx/{slug}/{published:%Y%m%d}/"
            f"bench-{self.seed}-{i:06d}-{r.randrange(16**8):08x}.html"
        )
        if r.random() < 0.3:
            url = "https" + url[4:]
        body_target = r.randint(1024, 3072)
        page = getattr(self, f"_{slug}")(i, region, published, body_target)
        page.name = f"{i:06d}_{slug}.txt"
        page.region, page.category, page.published, page.source_url = (
            region,
            category,
            published,
            url,
        )
        body = "\n\n".join(page.extra.pop("paragraphs"))
        page.text = (
            f"{HEADER}\n\n{page.title}\n\n"
            f"{published:%Y-%m-%d} {'-'.join(region)}\n"
            f"所在地区: {'-'.join(region)} 发布日期: "
            f"{published.year}年{published.month}月{published.day}日\n"
            f"{category}正文\n\n{body}\n\n"
            f"如有附件或图片请到网址中下载或查看{url}\n\n{FOOTER}"
        )
        return page

    def _blank(self, title, paragraphs, **kwargs) -> Page:
        return Page(
            name="",
            text="",
            title=title,
            published=datetime.date.min,
            region=("", "", ""),
            category="",
            source_url="",
            extra={"paragraphs": paragraphs},
            **kwargs,
        )

    def _project_name(self, region) -> tuple[str, str]:
        _, city, district = region
        p, k = self.place()
        facility = self.rng.choice(FACILITIES)
        return f"{city}{district}{p}{k}{facility}工程", facility

    def _tender(self, i, region, published, body_target) -> Page:
        r = self.rng
        _, city, district = region
        name_facility: list = []

        def make():
            name, facility = self._project_name(region)
            name_facility[:] = [name, facility]
            return f"{name}{r.choice(SCOPES)}招标公告"

        title = self.unique_title(make)
        project, facility = name_facility
        owner = self.org(city, ORG_KINDS)
        agent = self.org(r.choice((city, "江苏", "浙江", "上海", "广东")), AGENT_KINDS)
        amount_text, amount = self.wan(80, 60000)
        label = r.choice(("招标控制价", "最高投标限价", "招标控制价"))
        get_from = published + datetime.timedelta(days=2)
        deadline = datetime.datetime.combine(
            published + datetime.timedelta(days=r.randint(20, 30)),
            datetime.time(r.choice((9, 9, 10, 14)), r.choice((0, 30))),
        )
        p, k = self.place()
        paragraphs = [
            "一、招标条件",
            f"本招标项目{project}已由{city}{district}发展和改革局批准建设,项目业主为{owner},"
            f"建设资金来自{r.choice(('财政资金', '自筹资金', '专项债券资金'))},"
            f"项目出资比例为100%,招标人为{owner}。项目已具备招标条件,现对该项目的"
            f"{r.choice(SCOPES)}进行公开招标。",
            "二、项目概况与招标范围",
            f"建设地点:{city}{district}{p}{k}。建设规模:总建筑面积约{r.randint(1, 30)}万平方米,"
            f"主要建设内容包括{facility}及配套工程。{label}:{amount_text}万元。"
            f"计划工期:{r.randint(90, 900)}日历天。标段划分:一个标段。",
            *self.filler(city, district, facility, body_target - 1500),
            "三、投标人资格要求",
            "本次招标要求投标人须具备建筑工程施工总承包二级及以上资质,并在人员、设备、资金等方面"
            "具有相应的施工能力。",
            "四、招标文件的获取",
            f"凡有意参加投标者,请于{get_from.year}年{get_from.month}月{get_from.day}日起"
            f"登录{city}市公共资源交易平台下载电子招标文件。",
            "五、投标文件的递交",
            f"投标文件递交的截止时间(投标截止时间,下同)为{deadline.year}年{deadline.month}月"
            f"{deadline.day}日{deadline.hour}时{deadline.minute:02d}分。",
            "六、联系方式",
            f"招标人:{owner}\n地址:{self.address(city, district)}\n"
            f"联系人:{self.person()}\n电话:{self.phone()}",
            f"招标代理机构:{agent}\n地址:{self.address(city, district)}\n"
            f"联系人:{self.person()}\n电话:{self.phone()}"
            + (f"\n手机:{self.mobile()}" if r.random() < 0.7 else "")
            + (f"\n电子邮件:{self.email(i)}" if r.random() < 0.6 else ""),
        ]
        return self._blank(
            title,
            paragraphs,
            amount_yuan=amount,
            deadline=deadline.replace(tzinfo=SHANGHAI),
            contacts=2,
        )

    def _award(self, i, region, published, body_target) -> Page:
        r = self.rng
        _, city, district = region
        name_facility: list = []

        def make():
            name, facility = self._project_name(region)
            name_facility[:] = [name, facility]
            return f"{name}{r.choice(SCOPES)}{r.choice(('中标结果公告', '中标公告'))}"

        title = self.unique_title(make)
        project, facility = name_facility
        owner = self.org(city, ORG_KINDS)
        winner = self.org(city, BUILDER_KINDS)
        amount_text, amount = self.wan(50, 90000)
        integer, decimals = amount_text.split(".")
        shown = f"{int(integer):,}.{decimals}" if r.random() < 0.5 else amount_text
        pm = self.person()
        second = self.wan(50, 90000)[0]
        third = self.wan(50, 90000)[0]
        end = published + datetime.timedelta(days=2)
        paragraphs = [
            f"招标项目名称:{project}",
            f"招标编号:{r.randrange(10**18, 10**19)}",
            f"招标人:{owner}",
            f"招标代理:{self.org(city, AGENT_KINDS)}",
            f"中标人:{winner}",
            f"中标价:{shown}万元",
            f"工期:{r.randint(90, 900)}日历天",
            f"项目经理:{pm}(注册建造师证书编号:{r.choice(LICENCE_PREFIX)}13{r.randrange(10**11):011d})",
            "质量标准:合格",
            f"评标委员会推荐的中标候选人第二名:{self.org(city, BUILDER_KINDS)},"
            f"投标报价{second}万元;第三名:{self.org(city, BUILDER_KINDS)},投标报价{third}万元。",
            *self.filler(city, district, facility, body_target - 900),
            f"公示期:{published.year}年{published.month}月{published.day}日至{end.year}年"
            f"{end.month}月{end.day}日。投标人或者其他利害关系人对中标结果有异议的,"
            "应当在公示期内向招标人提出。",
            f"招标人联系人:{self.person()} 电话:{self.phone()}",
            f"中标人联系人:{pm} 手机:{self.mobile()} 电子邮件:{self.email(i)}",
        ]
        return self._blank(title, paragraphs, amount_yuan=amount, contacts=2)

    def _investment(self) -> tuple[str, int]:
        r = self.rng
        if r.random() < 0.6:
            value = Decimal(str(round(r.uniform(0.5, 120), r.choice((1, 2)))))
            return f"{value}亿元", int((value * 100_000_000).quantize(Decimal(1), ROUND_HALF_UP))
        text, amount = self.wan(500, 9999)
        return f"{text}万元", amount

    def _proposed(self, i, region, published, body_target) -> Page:
        return self._project(i, region, published, body_target, under_construction=False)

    def _construction(self, i, region, published, body_target) -> Page:
        return self._project(i, region, published, body_target, under_construction=True)

    def _project(self, i, region, published, body_target, under_construction) -> Page:
        r = self.rng
        _, city, district = region
        kinds: list = []

        def make():
            kind = r.choice(PROJECT_KINDS + FACILITIES)
            kinds[:] = [kind]
            p, k = self.place()
            return f"{city}市{district}{p}{k}{kind}{r.choice(PHASES)}项目"

        title = self.unique_title(make)
        kind = kinds[0]
        investment, amount = self._investment()
        stage = (
            r.choice(("主体施工", "基础施工", "竣工验收"))
            if under_construction
            else r.choice(("立项", "可研", "规划", "设计"))
        )
        owner = self.org(city, ORG_KINDS)
        p, k = self.place()
        paragraphs = [
            f"项目名称:{title}",
            f"项目阶段:{stage}",
            f"项目类别:{r.choice(('工业厂房', '市政工程', '公共建筑', '住宅', '商业'))}",
            f"总投资:{investment}",
            f"建设地点:{city}市{district}{p}{k}",
            f"建设内容:项目规划总用地面积约{r.randint(20, 900)}亩,总建筑面积约"
            f"{r.randint(1, 60)}.{r.randint(0, 9)}万平方米,新建{kind}及配套设施。",
            f"计划开工时间:{published.year + 1}年{r.randint(1, 12)}月",
            f"项目进展:项目已完成立项备案(备案证号:{district[:2]}行审备〔{published.year}〕"
            f"{r.randint(100, 9999)}号)。",
            *self.filler(city, district, kind, body_target - 1100),
            f"业主单位:{owner}\n联系人:{self.person()} 职务:项目负责人\n电话:{self.phone()}"
            + (f"\n手机:{self.mobile()}" if r.random() < 0.6 else "")
            + f"\n地址:{self.address(city, district)}",
            f"设计单位:{self.org(city, DESIGN_KINDS)}\n联系人:{self.person()} 职务:设计负责人\n"
            f"电话:{self.phone()}" + (f"\n电子邮件:{self.email(i)}" if r.random() < 0.5 else ""),
        ]
        contacts = 2
        if under_construction:
            paragraphs.append(
                f"施工单位:{self.org(city, BUILDER_KINDS)}\n联系人:{self.person()} 职务:项目经理\n"
                f"手机:{self.mobile()}"
            )
            contacts = 3
        return self._blank(title, paragraphs, amount_yuan=amount, contacts=contacts)

    def _news(self, i, region, published, body_target) -> Page:
        r = self.rng
        _, city, district = region

        def make():
            event = r.choice(NEWS_EVENTS).format(f=r.choice(FACILITIES))
            month = r.randint(1, 12)
            return f"{city}{district}{event}({month}月{r.randint(1, 28)}日)"

        title = self.unique_title(make)
        facility = r.choice(FACILITIES)
        paragraphs = self.filler(city, district, facility, body_target)
        paragraphs[-1] += f"(记者 {self.person()} {r.choice(('摄影', '通讯员'))} {self.person()})"
        return self._blank(title, paragraphs)


# --- database / environment ---------------------------------------------------------------


def recreate_database(admin_url: str, name: str) -> None:
    import psycopg2
    from psycopg2 import sql

    parts = urlsplit(admin_url)
    conn = psycopg2.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
        dbname=parts.path.lstrip("/") or "postgres",
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cur.execute(
            sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(
                sql.Identifier(name)
            )
        )
    conn.close()


def real_regions(limit: int, rng: random.Random) -> list[tuple[str, str, str]]:
    from news.models import Region

    rows = (
        Region.objects.filter(
            level=Region.Level.DISTRICT,
            verified=True,
            parent__level=Region.Level.CITY,
            parent__parent__level=Region.Level.PROVINCE,
        )
        .order_by("code", "id")
        .values_list("parent__parent__name", "parent__name", "name")
    )
    paths = [tuple(row) for row in rows]
    if not paths:
        return list(FALLBACK_REGIONS)
    return rng.sample(paths, min(limit, len(paths)))


# --- measuring ------------------------------------------------------------------------------


def fmt_rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f} files/s" if seconds > 0 else "n/a"


def check_parsed(pages: list[Page], parsed: list) -> list[str]:
    """Differences between what a page was generated with and what the parser read."""
    problems = []
    for page, result in zip(pages, parsed, strict=True):
        got = {
            "title": result.title,
            "published": result.published,
            "region": tuple(result.region),
            "category": result.category,
            "source_url": result.source_url,
            "amount_yuan": result.amount_yuan,
            "deadline": result.deadline,
            "contacts": len(result.contacts),
        }
        for key, value in got.items():
            expected = getattr(page, key)
            if value != expected:
                problems.append(f"{page.name}: {key} = {value!r}, generated {expected!r}")
    return problems


class QueryStats:
    """connection.execute_wrapper collecting time per statement shape."""

    def __init__(self):
        self.stats: dict[str, list[float]] = {}

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            key = " ".join(sql.split())
            if key.startswith("INSERT"):
                key = key.split(" VALUES ")[0] + " VALUES …"
            entry = self.stats.setdefault(key, [0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - start

    def report(self, total_seconds: float, files: int, top: int = 15) -> str:
        rows = sorted(self.stats.items(), key=lambda kv: kv[1][1], reverse=True)
        count = sum(v[0] for v in self.stats.values())
        spent = sum(v[1] for v in self.stats.values())
        lines = [
            f"SQL: {count} statements ({count / max(files, 1):.1f}/file), "
            f"{spent:.2f} s = {spent / total_seconds:.0%} of the profiled run "
            f"(time inside cursor.execute, incl. psycopg2 and the round trip)"
        ]
        for sql, (n, seconds) in rows[:top]:
            lines.append(f"  {seconds:7.2f} s {n:7d}x {seconds / n * 1000:6.3f} ms  {sql[:150]}")
        return "\n".join(lines)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=10_000, help="pages to generate (10000)")
    parser.add_argument(
        "--database-url",
        help=f"use this database instead of a fresh {DEFAULT_DB_NAME} (migrated, not dropped; "
        "pages of an earlier run with the same --seed would be duplicates)",
    )
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed ({SEED})")
    parser.add_argument("--regions", type=int, default=300, help="distinct region paths (300)")
    parser.add_argument("--keep-files", action="store_true", help="keep the generated folder")
    parser.add_argument(
        "--baseline",
        default="none",
        help="the earlier run these figures compare with, e.g. '2026-11-26 · bf7f880'",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the end-to-end import under cProfile and time every SQL statement "
        "(slower; figures are then not comparable)",
    )
    parser.add_argument("--profile-out", help="also dump the cProfile stats to this file")
    args = parser.parse_args(argv)
    if args.files < 1:
        parser.error("--files must be at least 1")
    return args


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    # DEBUG=True keeps every query in memory (connection.queries): not what production runs.
    os.environ["DEBUG"] = "false"
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def write_pages(generator: Generator, count: int, folder: Path) -> tuple[list[Page], int]:
    pages = [generator.page(i) for i in range(count)]
    total_bytes = 0
    for page in pages:
        data = page.text.encode()
        total_bytes += len(data)
        (folder / page.name).write_bytes(data)
    return pages, total_bytes


def time_parse(folder: Path, pages: list[Page]) -> tuple[float, float, list[str]]:
    """(read seconds, parse seconds, parse problems) over the files of `folder`."""
    from news.importing import ParseError, normalised_fingerprint, parse_bytes
    from news.importing.sources import sources_from_paths

    started = time.perf_counter()
    blobs = [(source.name, source.read()) for source in sources_from_paths([folder])]
    read_s = time.perf_counter() - started

    parsed, failures = [], []
    started = time.perf_counter()
    for name, data in blobs:
        try:
            result = parse_bytes(data)
        except ParseError as exc:
            failures.append(f"{Path(name).name}: ParseError {exc}")
            continue
        normalised_fingerprint(result)
        parsed.append((Path(name).name, result))
    parse_s = time.perf_counter() - started

    by_name = {page.name: page for page in pages}
    problems = failures + check_parsed(
        [by_name[name] for name, _ in parsed], [result for _, result in parsed]
    )
    return read_s, parse_s, problems


class CpuClock:
    """CPU seconds this process, its reaped children (the prepare helper) and this
    connection's PostgreSQL backend spend from now: on a machine shared with other jobs
    wall-clock rates move with their load, CPU per file much less."""

    def __init__(self):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.backend = cursor.fetchone()[0]
        self.start = self._now()

    def _backend_seconds(self) -> float | None:
        try:
            fields = Path(f"/proc/{self.backend}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # PostgreSQL on another machine or user
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _now(self) -> tuple[float, float, float | None]:
        import resource

        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime, self._backend_seconds())

    def spent(self) -> tuple[float, float, float | None]:
        """(this process, its children, the PostgreSQL backend or None)."""
        now = self._now()
        backend = None if now[2] is None or self.start[2] is None else now[2] - self.start[2]
        return now[0] - self.start[0], now[1] - self.start[1], backend


def time_import(folder: Path, profile: bool):
    """(report, seconds, profiler or None, QueryStats or None) of one end-to-end import."""
    from django.db import connection

    from news.importing.pipeline import run_import
    from news.importing.sources import sources_from_paths

    if not profile:
        cpu = CpuClock()
        started = time.perf_counter()
        report = run_import(sources_from_paths([folder]), publish=True)
        elapsed = time.perf_counter() - started
        report.cpu_seconds = cpu.spent()
        return report, elapsed, None, None

    import cProfile

    stats, profiler = QueryStats(), cProfile.Profile()
    started = time.perf_counter()
    with connection.execute_wrapper(stats):
        profiler.enable()
        report = run_import(sources_from_paths([folder]), publish=True)
        profiler.disable()
    return report, time.perf_counter() - started, profiler, stats


def wrong_regions(pages: list[Page]) -> int:
    """Stored bulletins whose region is not the path their page was generated with."""
    from news.models import Bulletin, Region

    wanted = {page.source_url: page.region for page in pages}
    names = {
        r.pk: (r.parent.parent.name, r.parent.name, r.name)
        for r in Region.objects.filter(level=Region.Level.DISTRICT).select_related("parent__parent")
        if r.parent and r.parent.parent
    }
    stored = Bulletin.objects.filter(source_url__in=list(wanted)).values_list(
        "source_url", "region_id"
    )
    return sum(1 for url, region_id in stored if names.get(region_id) != wanted[url])


def print_profile(profiler, stats: QueryStats, seconds: float, files: int, out_file) -> None:
    import io
    import pstats

    print()
    print(stats.report(seconds, files))
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(30)
        text = out.getvalue()
        print(f"\ncProfile, top 30 by {order}:")
        print(text[text.find("   ncalls") :].rstrip())
    if out_file:
        profiler.dump_stats(out_file)
        print(f"cProfile stats written to {out_file}")


def machine() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        pg_version = cursor.fetchone()[0]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cores} cores (nproc), {pg_version}"


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.database_url:
        database_url = args.database_url
    else:
        recreate_database(DEFAULT_ADMIN_URL, DEFAULT_DB_NAME)
        database_url = DEFAULT_ADMIN_URL.rsplit("/", 1)[0] + "/" + DEFAULT_DB_NAME
    setup_django(database_url)

    from django.core.management import call_command

    from news.models import Bulletin, Contact, Region

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    print(f"migrate: {time.perf_counter() - started:.1f} s ({database_url})")
    bulletins_before = Bulletin.objects.count()
    contacts_before = Contact.objects.count()
    unverified_before = Region.objects.filter(verified=False).count()
    if bulletins_before:
        print(f"warning: the database already holds {bulletins_before} bulletins")

    regions = real_regions(args.regions, random.Random(args.seed))
    folder = Path(tempfile.mkdtemp(prefix="import_bench_"))
    try:
        started = time.perf_counter()
        pages, total_bytes = write_pages(Generator(regions, seed=args.seed), args.files, folder)
        n = len(pages)
        print(
            f"generated {n} files, {total_bytes / 1e6:.1f} MB (avg {total_bytes / n / 1024:.1f} KB)"
            f", {len(regions)} regions, in {time.perf_counter() - started:.1f} s -> {folder}"
        )

        read_s, parse_s, problems = time_parse(folder, pages)  # (a)
        report, e2e_s, profiler, stats = time_import(folder, args.profile)  # (b)
        store_s = e2e_s - parse_s
        imported, duplicates, errors = report.imported, report.duplicates, report.errors
        stored_bulletins = Bulletin.objects.count() - bulletins_before
        stored_contacts = Contact.objects.count() - contacts_before
        new_unverified = Region.objects.filter(verified=False).count() - unverified_before

        print()
        print(f"read only (sources_from_paths + read):      {read_s:6.2f} s  {fmt_rate(n, read_s)}")
        print(
            f"(a) parse only (parse_bytes + fingerprint): {parse_s:6.2f} s  {fmt_rate(n, parse_s)}"
        )
        print(f"(b) end to end (run_import -> PostgreSQL):  {e2e_s:6.2f} s  {fmt_rate(n, e2e_s)}")
        print(
            f"    store share (b - a): {store_s:6.2f} s = {store_s / e2e_s:.0%} of end to end, "
            f"{store_s / n * 1000:.2f} ms/file; parse {parse_s / e2e_s:.0%}, "
            f"{parse_s / n * 1000:.2f} ms/file"
        )
        cpu = getattr(report, "cpu_seconds", None)
        cpu_line = ""
        if cpu:
            parts = [f"import process {cpu[0] / n * 1000:.2f}", f"helper {cpu[1] / n * 1000:.2f}"]
            if cpu[2] is not None:
                parts.append(f"PostgreSQL backend {cpu[2] / n * 1000:.2f}")
            cpu_line = (
                "CPU ms/file: "
                + ", ".join(parts)
                + f"; total {sum(filter(None, cpu)) / n * 1000:.2f}"
            )
            print(cpu_line)
        print(
            f"imported {len(imported)}, duplicates {len(duplicates)}, errors {len(errors)}; "
            f"rows: {stored_bulletins} bulletins, {stored_contacts} contacts "
            f"(generated {sum(p.contacts for p in pages)})"
        )
        print(
            f"checks: {len(problems)} parse mismatches, {wrong_regions(pages)} bulletins with "
            f"another region than generated, {new_unverified} new unverified regions"
        )
        for error in errors[:5]:
            print(f"  error: {error.error}")
        for result in duplicates[:5]:
            print(f"  duplicate: {result.file} of #{result.duplicate_of}")
        for problem in problems[:10]:
            print(f"  mismatch: {problem}")
        if profiler is not None:
            print_profile(profiler, stats, e2e_s, n, args.profile_out)

        command = " ".join([".venv/bin/python bench/import_bench.py", *(argv or sys.argv[1:])])
        target = "met" if n / e2e_s >= TARGET_FILES_PER_S else "NOT met"
        if args.profile:
            target += " (profiled run: figures inflated by cProfile)"
        block = [
            f"#### {datetime.date.today().isoformat()} · {commit_id()} — {n:,} files",
            "",
            f"- Machine: {machine()}",
            f"- Command: `{command}`",
            f"- Files: {n:,} generated pages, {total_bytes / 1e6:.1f} MB, "
            f"{len(regions)} region paths, seed {args.seed}",
            f"- Parse only (parse_bytes + normalised_fingerprint): **{fmt_rate(n, parse_s)}** "
            f"({parse_s:.2f} s, {parse_s / n * 1000:.2f} ms/file)",
            f"- End to end (run_import into PostgreSQL): **{fmt_rate(n, e2e_s)}** "
            f"({e2e_s:.2f} s, {e2e_s / n * 1000:.2f} ms/file) — target ≥ "
            f"{TARGET_FILES_PER_S} files/s {target}",
            f"- Store share (end to end − parse): {store_s:.2f} s = {store_s / e2e_s:.0%} "
            f"({store_s / n * 1000:.2f} ms/file; of which reading the files {read_s:.2f} s)",
            *([f"- {cpu_line}"] if cpu_line else []),
            f"- Result: imported {len(imported):,}, duplicates {len(duplicates)}, "
            f"errors {len(errors)}",
            f"- Baseline compared with: {args.baseline}",
        ]
        print("\n---- paste into BENCHMARKS.md " + "-" * 40)
        print("\n".join(block))
        print("-" * 70)
    finally:
        if args.keep_files:
            print(f"files kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 1 if errors or duplicates or len(imported) != n else 0


if __name__ == "__main__":
    sys.exit(main())
