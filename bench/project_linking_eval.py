"""Precision and recall of linking bulletins to projects (news/linking.py).

    .venv/bin/python bench/project_linking_eval.py [--projects 500] [--seed 20241012] [--stress]

No database. Every page goes through the importer's own code: parse_text, then an unsaved
Bulletin (title, join_paragraphs(paragraphs), stage, Category(name=category)) for
project_name; the key is (name_key(name), the page region's city, else its province), as
_find_or_create matches (name_key, place_key). Pages arrive in published order (ties: set
order), as projects_link_bulletins takes a batch; a page whose key an earlier page created
joins that project, else it starts one. News (建设快讯) starts no project.

The labelled set (fixed seed; pages in the format of demo/bulletins, written with
bench/import_bench.py's Generator, its vocabulary, header and footer):
- the 5 samples of demo/bulletins, labelled from expected.json: 001 and 004 one project,
  002 and 003 alone, 000 news (no project);
- generated projects, named as real notices name them: an optional place prefix (镇江新区 /
  镇江市京口区 / 京口区 / none), a road, river, school, park, hospital or industrial park, an
  optional bracketed road section / campus / area, works and an optional phase (一期 … 三期,
  before the works, before 工程, or bracketed after it), e.g. 镇江新区港南路(大港段)道路提升
  改造工程. Each has a tender notice, then usually an award notice (85 %), and sometimes a
  拟建 record before the tender (30 %), a 监理 tender (20 %), an 在建 record (25 %) or news
  of its 开工 (20 %, labelled "no project": news starts none and joins none).
  A 监理 tender is labelled the SAME project as the 施工 tender: one site, one owner, and the
  supervisor is one more party of it (the linker erases 施工/监理/设计 tails alike).
- variants of one project across its notices: title tails (施工招标公告, 施工总承包招标公告,
  公开招标公告, 招标公告(二次), 监理招标公告, 施工监理招标公告, 中标结果公示, 中标候选人
  公示, 中标结果公告, 中标公告, with or without 施工/施工总承包/设计施工总承包), full-width
  brackets (half the names with brackets), 项目 appended ("…工程项目": 15 % of notices, 60 %
  of 拟建/在建 records), the phase kept, the name given in the body ("本招标项目X已由…",
  "项目名称:X", "招标项目名称:X施工", "工程名称:X") or only in the title (20-30 % of
  notices), and a later notice's region given without its district (10 %, same city).
- hard negatives (a twin for 45 % of the projects), each a full project with its own
  notices: the same name in another city (no prefix, or a district name two cities share:
  鼓楼区, 普陀区, 西湖区, 江北区, 朝阳区);
  in the same city the same name with another phase (一期 / 二期) or another bracketed section
  (road section, campus, park area); another project of the same owner (same road or school,
  other works). No two labelled projects of one city share road, section, works and phase.
- --stress adds variants outside that list (measured apart, not part of the default set):
  a later notice dropping the place prefix, a record naming "…项目" for "…工程", title-only
  EPC总承包 / 勘察设计 tenders and 监理服务 tenders.
With exact keys the grouping does not depend on arrival order; the order only decides which
page starts a project. A predicted link (a page joined an existing project) is a true
positive when the project was started by a page of the same labelled project. Recall is over
the pages whose labelled project already had a page with a project when they arrived: linked
there / all of them (misses: a new project, no name found, or a wrong link). Targets:
precision >= 0.98 (a wrong link shows one project's contacts under another), recall >= 0.9.
Exit 1 if one is missed.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DATABASE_URL", "sqlite:///:memory:")
import django  # noqa: E402

django.setup()

from bench import import_bench as ib  # noqa: E402
from bench._common import commit_id  # noqa: E402
from news.importing.parser import ParseError, parse_text  # noqa: E402
from news.linking import NEWS_CATEGORY, name_key, project_name  # noqa: E402
from news.models import Bulletin, Category  # noqa: E402
from news.text import join_paragraphs  # noqa: E402

TARGET_PRECISION, TARGET_RECALL = 0.98, 0.9
SAMPLES = ROOT / "demo" / "bulletins"

# Several districts share a name across cities: the hard "same name, other city" negatives.
REGIONS = (
    ("江苏", "镇江", "京口区"), ("江苏", "镇江", "润州区"), ("江苏", "镇江", "镇江新区"),
    ("江苏", "常州", "武进区"), ("江苏", "常州", "新北区"), ("江苏", "苏州", "吴中区"),
    ("江苏", "南京", "鼓楼区"), ("江苏", "徐州", "鼓楼区"), ("福建", "福州", "鼓楼区"),
    ("浙江", "杭州", "西湖区"), ("江西", "南昌", "西湖区"), ("上海", "上海", "普陀区"),
    ("浙江", "舟山", "普陀区"), ("浙江", "宁波", "江北区"), ("重庆", "重庆", "江北区"),
    ("北京", "北京", "朝阳区"), ("吉林", "长春", "朝阳区"), ("广东", "广州", "天河区"),
)  # fmt: skip
SHARED_DISTRICT = {
    district: [r for r in REGIONS if r[2] == district]
    for district in {r[2] for r in REGIONS}
    if sum(r[2] == district for r in REGIONS) > 1
}
SEGMENT = "segment"  # a road / river section: (大港段) or (金港路至通港路段)
# kind: (subject endings, works, bracketed sections, weight)
SUBJECTS = {
    "road": (("路", "大道", "街"), ("道路提升改造", "道路新建", "雨污分流改造", "综合管廊",
             "快速化改造", "沿线绿化提升", "排水管网改造"), SEGMENT, 35),
    "river": (("河", "港", "浦"), ("综合整治", "生态修复", "堤防加固"), SEGMENT, 10),
    "school": (("中学", "小学", "实验学校", "幼儿园"), ("改扩建", "新建", "教学楼加固改造",
               "运动场改造", "食堂及宿舍楼新建"), ("东校区", "西校区", "南校区", "北校区"), 20),
    "park": (("公园", "湿地公园", "体育公园"), ("提升改造", "景观绿化", "配套设施建设"),
             ("东区", "西区", "南区", "北区"), 10),
    "hospital": (("人民医院", "中医院", "妇幼保健院"), ("门急诊楼新建", "住院楼改扩建",
                 "综合楼新建"), ("东院区", "西院区", "南院区"), 10),
    "industry": (("智能装备产业园", "生物医药产业园", "绿色建材产业园", "科创孵化基地"),
                 ("标准厂房", "基础设施配套", "研发楼"), (), 15),
}  # fmt: skip
PHASES = ("一期", "二期", "三期")
TWINS = (("other-city", 15), ("other-phase", 10), ("other-section", 10), ("same-owner", 10))
# (scope written in the title, weight); the stress scopes are title-only misses by design.
TENDER_SCOPES = (("施工", 45), ("施工总承包", 20), ("", 15), ("设计施工总承包", 5))
STRESS_TENDER_SCOPES = (("EPC总承包", 8), ("勘察设计", 7))
TENDER_TAILS = (
    ("招标公告", 70),
    ("公开招标公告", 10),
    ("招标公告(二次)", 10),
    ("招标公告(重新招标)", 10),
)
SUPERVISION_TITLES = (("监理招标公告", 50), ("施工监理招标公告", 50))
STRESS_SUPERVISION_TITLES = (("监理服务招标公告", 30),)
AWARD_SCOPES = (("", 40), ("施工", 40), ("施工总承包", 20))
AWARD_TAILS = (("中标结果公示", 35), ("中标候选人公示", 25), ("中标结果公告", 20), ("中标公告", 20))
BODY_FORMS = {  # where the body names the project (None: only the title does)
    "tender": (("本招标项目…已由", 50), ("项目名称:", 15), ("招标项目名称:", 10), ("工程名称:", 5),
               (None, 20)),
    "supervision": (("本招标项目…已由", 50), ("项目名称:", 20), (None, 30)),
    "award": (("招标项目名称:", 40), ("项目名称:", 30), (None, 30)),
}  # fmt: skip
NEWS_TITLES = ("{n}正式开工", "{n}开工仪式举行", "{n}顺利开工", "{n}开工建设")
FULL_WIDTH = str.maketrans("()", "\uff08\uff09")
KINDS = ("proposed", "tender", "supervision", "award", "construction", "news")
CATEGORY = {
    "proposed": "拟建项目", "tender": "招标公告", "supervision": "招标公告", "award": "中标公告",
    "construction": "在建项目", "news": NEWS_CATEGORY,
}  # fmt: skip


@dataclass
class Spec:
    """A labelled project: what its notices are about."""

    label: str
    region: tuple[str, ...]
    prefix: str
    subject: str
    section: str
    works: str
    phase: str
    phase_at: str  # "subject" | "works" | "bracket"
    owner: str
    agent: str
    role: str = "project"  # or the hard negative it is: other-city, other-phase, …
    twin_of: str = ""

    @property
    def core(self) -> tuple:
        return (self.region[1], self.subject, self.section, self.works, self.phase)

    def name(self) -> str:
        s = self.subject + (f"({self.section})" if self.section else "")
        w, p = self.works, self.phase
        if not p:
            return f"{self.prefix}{s}{w}工程"
        if self.phase_at == "subject":
            return f"{self.prefix}{s}{p}{w}工程"
        if self.phase_at == "works":
            return f"{self.prefix}{s}{w}{p}工程"
        return f"{self.prefix}{s}{w}工程({p})"


@dataclass
class Doc:
    id: int
    label: str | None  # the labelled project; None: news, no project
    kind: str
    published: datetime.date
    region: tuple[str, ...]
    title: str
    text: str = ""
    tags: tuple = ()
    role: str = ""
    # set by run()
    name: str = ""
    key: tuple = ()
    outcome: str = ""  # "new" | "link" | "no name" | "parse error"
    project: int | None = None
    eligible: bool = False
    correct: bool = False


@dataclass
class Project:
    founder: Doc
    docs: list = field(default_factory=list)


def place(region: tuple[str, ...]) -> tuple[str, ...]:
    """The place key's stand-in: the region's city (else its province, else nothing)."""
    return tuple(region[:2])


def cn(d: datetime.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


class SetGenerator(ib.Generator):
    def __init__(self, seed: int, stress: bool):
        super().__init__(REGIONS, seed=seed)
        self.stress = stress
        self.cores = {("镇江", "港南路", "大港段", "道路提升改造", "")}  # sample 001/004
        self.specs: list[Spec] = []
        self.docs: list[Doc] = []

    def pick(self, weighted):
        return self.rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]

    # --- projects -------------------------------------------------------------------------

    def section(self, kind: str, subject: str, avoid: str = "") -> str:
        r, sections = self.rng, SUBJECTS[kind][2]
        for _ in range(20):
            if sections == SEGMENT:
                a, b = r.sample(ib.PLACES, 2)
                value = f"{a}段" if r.random() < 0.5 else f"{a}路至{b}路段"
            else:
                value = r.choice(sections)
            if value != avoid and value[:2] not in subject:
                return value
        raise RuntimeError("no section")

    def prefix(self, region: tuple[str, ...]) -> str:
        _, city, district = region
        joined = district if district.startswith(city) else f"{city}{district}"
        return self.pick(((joined, 30), (f"{city}市{district}", 25), (district, 20), ("", 25)))

    def base(self, label: str) -> list[Spec]:
        """One project and, for some, a hard negative twin of it."""
        r = self.rng
        twin = self.pick((*TWINS, (None, 100 - sum(w for _, w in TWINS))))
        for _ in range(200):
            region = r.choice(REGIONS)
            kinds = list(SUBJECTS)
            if twin == "other-section":
                kinds = [k for k in kinds if SUBJECTS[k][2]]
            kind = r.choices(kinds, [SUBJECTS[k][3] for k in kinds])[0]
            endings, works, sections, _ = SUBJECTS[kind]
            subject = r.choice(ib.PLACES) + r.choice(endings)
            section = ""
            if sections and (twin == "other-section" or r.random() < 0.35):
                section = self.section(kind, subject)
            phase = r.choice(PHASES) if twin == "other-phase" or r.random() < 0.3 else ""
            prefix = self.prefix(region)
            if twin == "other-city":  # identical names: no prefix, or a district two cities have
                shared = SHARED_DISTRICT.get(region[2])
                prefix = region[2] if shared and r.random() < 0.6 else ""
            _, city, _ = region
            spec = Spec(
                label, region, prefix, subject, section, r.choice(works), phase,
                r.choice(("subject", "works", "bracket")), self.org(city, ib.ORG_KINDS),
                self.org(r.choice((city, region[0])), ib.AGENT_KINDS),
            )  # fmt: skip
            other = self.twin(spec, twin, kind) if twin else None
            cores = [spec.core] + ([other.core] if other else [])
            if any(c in self.cores for c in cores) or len(set(cores)) < len(cores):
                continue
            self.cores.update(cores)
            return [spec] + ([other] if other else [])
        raise RuntimeError("could not find a fresh project name")

    def twin(self, spec: Spec, role: str, kind: str) -> Spec:
        r = self.rng
        twin = replace(spec, label=spec.label + "~" + role, role=role, twin_of=spec.label)
        if role == "other-city":
            if spec.prefix:
                region = r.choice([g for g in SHARED_DISTRICT[spec.region[2]] if g != spec.region])
            else:
                region = r.choice([g for g in REGIONS if g[1] != spec.region[1]])
            return replace(twin, region=region, owner=self.org(region[1], ib.ORG_KINDS))
        if role == "other-phase":
            return replace(twin, phase=r.choice([p for p in PHASES if p != spec.phase]))
        if role == "other-section":
            return replace(twin, section=self.section(kind, spec.subject, avoid=spec.section))
        works = [w for w in SUBJECTS[kind][1] if w != spec.works]  # same owner, other works
        return replace(twin, works=r.choice(works), phase="")

    # --- notices --------------------------------------------------------------------------

    def notices(self, spec: Spec) -> None:
        r = self.rng
        t0 = self.start + datetime.timedelta(days=r.randrange(self.days))
        days = datetime.timedelta
        plan = [("tender", t0)]
        if r.random() < 0.3:
            plan.insert(0, ("proposed", t0 - days(r.randint(20, 90))))
        if r.random() < 0.2:
            plan.append(("supervision", t0 + days(r.randint(3, 20))))
        if r.random() < 0.85:
            plan.append(("award", t0 + days(r.randint(25, 45))))
        if r.random() < 0.25:
            plan.append(("construction", t0 + days(r.randint(60, 240))))
        if r.random() < 0.2:
            plan.append(("news", t0 + days(r.randint(40, 150))))
        for i, (kind, published) in enumerate(plan):
            name, tags = self.written(spec, kind, first=i == 0)
            region = spec.region
            if i > 0 and r.random() < 0.1:
                region, tags = region[:2], [*tags, "region without district"]
            title, paragraphs, more = getattr(self, f"_{kind}_notice")(spec, name, published)
            doc = Doc(
                len(self.docs), None if kind == "news" else spec.label, kind, published, region,
                title, tags=(*tags, *more), role=spec.role,
            )  # fmt: skip
            doc.text = self.render(doc, paragraphs)
            self.docs.append(doc)

    def written(self, spec: Spec, kind: str, first: bool) -> tuple[str, list[str]]:
        """The project's name as this notice writes it."""
        r, name, tags = self.rng, spec.name(), []
        record = kind in ("proposed", "construction")
        if self.stress and spec.prefix and not first and r.random() < 0.2:
            name, tags = name.removeprefix(spec.prefix), ["stress: prefix dropped"]
        if self.stress and record and name.endswith("工程") and r.random() < 0.4:
            name, tags = name[:-2] + "项目", [*tags, "stress: 工程→项目"]
        if not name.endswith("项目") and r.random() < (0.6 if record else 0.15):
            name, tags = name + "项目", [*tags, "+项目"]
        if "(" in name and r.random() < 0.5:
            name, tags = name.translate(FULL_WIDTH), [*tags, "full-width ()"]
        return name, tags

    def body_name(self, kind: str, name: str) -> tuple[list[str], str | None, str]:
        """(lines naming the project, the body form, the scope written after the name)."""
        form = self.pick(BODY_FORMS[kind])
        scope = ""
        if form in ("项目名称:", "招标项目名称:", "工程名称:"):
            scope = "监理" if kind == "supervision" else self.pick((("", 60), ("施工", 30),
                                                                   ("施工总承包", 10)))  # fmt: skip
            return [f"{form}{name}{scope}"], form, scope
        return [], form, scope

    def _tender_notice(self, spec, name, published, supervision=False):
        r, (_, city, district) = self.rng, spec.region[:3]
        if supervision:
            scopes = SUPERVISION_TITLES + (STRESS_SUPERVISION_TITLES if self.stress else ())
            tail, scope_word = self.pick(scopes), "施工监理"
            title = f"{name}{tail}"
        else:
            scopes = TENDER_SCOPES + (STRESS_TENDER_SCOPES if self.stress else ())
            scope = self.pick(scopes)
            title, scope_word = f"{name}{scope}{self.pick(TENDER_TAILS)}", scope or "施工"
            tail = f"{scope}…"
        lines, form, scope = self.body_name("supervision" if supervision else "tender", name)
        owner, approver = spec.owner, f"{city}{district}发展和改革局"
        funding = r.choice(("财政资金", "自筹资金", "专项债券资金"))
        subject = "本招标项目" + name if form == "本招标项目…已由" else "本次招标工程"
        condition = (
            f"{subject}已由{approver}批准建设,项目业主为{owner},建设资金来自{funding},"
            f"项目出资比例为100%,招标人为{owner}。项目已具备招标条件,现对该项目的{scope_word}"
            "进行公开招标。"
        )
        amount, days = self.wan(80, 60000)[0], r.randint(90, 900)
        get_from = published + datetime.timedelta(days=2)
        deadline = published + datetime.timedelta(days=r.randint(20, 30))
        paragraphs = [
            "一、招标条件", *lines, condition, "二、项目概况与招标范围",
            f"建设地点:{city}{district}{spec.subject}。主要建设内容包括{spec.works}及配套工程。"
            f"招标控制价:{amount}万元。计划工期:{days}日历天。标段划分:一个标段。",
            *self.filler(city, district, spec.works, r.randint(300, 1200)),
            "三、投标人资格要求",
            "投标人须具备相应的资质,并在人员、设备、资金等方面具有相应的能力。",
            "四、招标文件的获取", f"凡有意参加投标者,请于{cn(get_from)}起登录{city}市公共资源"
            "交易平台下载电子招标文件。",
            "五、投标文件的递交",
            f"投标文件递交的截止时间(投标截止时间,下同)为{cn(deadline)}9时30分。",
            "六、联系方式",
            f"招标人:{owner}\n联系人:{self.person()}\n电话:{self.phone()}",
            f"招标代理机构:{spec.agent}\n联系人:{self.person()}\n电话:{self.phone()}",
        ]  # fmt: skip
        return title, paragraphs, self.body_tags(form, scope, tail)

    def _supervision_notice(self, spec, name, published):
        return self._tender_notice(spec, name, published, supervision=True)

    def body_tags(self, form, scope, title_tail) -> list[str]:
        if form is None:
            return [f"title only ({title_tail})"]
        return [f"body {form}" + (f"…{scope}" if scope else "")]

    def _award_notice(self, spec, name, published):
        r, (_, city, district) = self.rng, spec.region[:3]
        scope, tail = self.pick(AWARD_SCOPES), self.pick(AWARD_TAILS)
        lines, form, body_scope = self.body_name("award", name)
        winner, pm = self.org(city, ib.BUILDER_KINDS), self.person()
        end = published + datetime.timedelta(days=3)
        paragraphs = [
            *lines, f"招标编号:{r.randrange(10**15, 10**16)}", f"招标人:{spec.owner}",
            f"招标代理:{spec.agent}", "经评标委员会评审并经招标人确认,现将结果公示如下:",
            f"中标人:{winner}", f"中标价:{self.wan(50, 90000)[0]}万元",
            f"工期:{r.randint(90, 900)}日历天", f"项目经理:{pm}", "质量标准:合格",
            *self.filler(city, district, spec.works, r.randint(200, 800)),
            f"公示期:{cn(published)}至{cn(end)}。投标人或者其他利害关系人对中标结果有异议的,"
            "应当在公示期内向招标人提出。",
            f"招标人联系人:{self.person()} 电话:{self.phone()}",
            f"中标人联系人:{pm} 手机:{self.mobile()}",
        ]  # fmt: skip
        return f"{name}{scope}{tail}", paragraphs, self.body_tags(form, body_scope, f"{scope}…")

    def _record(self, spec, name, published, stage):
        r, (_, city, district) = self.rng, spec.region[:3]
        paragraphs = [
            f"项目名称:{name}", f"项目阶段:{stage}",
            f"总投资:{r.randint(2, 90)}.{r.randint(0, 9)}亿元",
            f"建设地点:{city}市{district}{spec.subject}",
            f"建设内容:主要建设{spec.works}及配套设施。",
            *self.filler(city, district, spec.works, r.randint(200, 800)),
            f"业主单位:{spec.owner}\n联系人:{self.person()} 职务:项目负责人\n电话:{self.phone()}",
        ]  # fmt: skip
        return name, paragraphs, []

    def _proposed_notice(self, spec, name, published):
        return self._record(spec, name, published, self.rng.choice(("立项", "可研", "规划")))

    def _construction_notice(self, spec, name, published):
        return self._record(spec, name, published, self.rng.choice(("主体施工", "基础施工")))

    def _news_notice(self, spec, name, published):
        r, (_, city, district) = self.rng, spec.region[:3]
        paragraphs = self.filler(city, district, spec.works, r.randint(400, 1200))
        paragraphs.insert(0, f"{published.month}月{published.day}日,{name}正式开工建设。")
        paragraphs[-1] += f"(记者 {self.person()} 通讯员 {self.person()})"
        return r.choice(NEWS_TITLES).format(n=name), paragraphs, []

    def render(self, doc: Doc, paragraphs: list[str]) -> str:
        """A page as ib.Generator.page writes one."""
        region, d = "-".join(doc.region), doc.published
        url = f"http://{self.rng.choice(ib.URL_HOSTS)}/jyxx/{d:%Y%m%d}/link-{doc.id:06d}.html"
        meta = f"{d:%Y-%m-%d} {region}\n所在地区: {region} 发布日期: {cn(d)}\n"
        meta += CATEGORY[doc.kind] + "正文"
        tail = f"如有附件或图片请到网址中下载或查看{url}\n\n{ib.FOOTER}"
        return "\n\n".join([ib.HEADER, doc.title, meta, *paragraphs, tail])


def sample_docs() -> tuple[list[Doc], dict]:
    expected = json.loads((SAMPLES / "expected.json").read_text())
    docs, paths = [], sorted(SAMPLES.glob("*.txt"))
    for i, path in enumerate(paths):
        text, want = path.read_text(), expected[path.name]
        parsed = parse_text(text)
        of = want.get("project_of", path.name)
        label = f"sample {of[:3]}" if "project" in want else None
        kind = "news" if label is None else "sample"
        doc = Doc(i - len(paths), label, kind, parsed.published, parsed.region, parsed.title, text)
        doc.tags, doc.role = (f"sample {path.name[:3]}",), "sample"
        docs.append(doc)
    return docs, expected


def build(args) -> tuple[list[Doc], list[Spec], dict]:
    docs, expected = sample_docs()
    gen = SetGenerator(args.seed, args.stress)
    for i in range(args.projects):
        for spec in gen.base(f"P{i}"):
            gen.specs.append(spec)
            gen.notices(spec)
    names = Counter((place(s.region), normal(s.name())) for s in gen.specs)
    assert max(names.values()) == 1, "two labelled projects of one city share a name"
    return docs + gen.docs, gen.specs, expected


def normal(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isalnum())


def run(docs: list[Doc]) -> dict:
    """_find_or_create, page by page, over an in-memory {(name_key, place): project}."""
    keys: dict[tuple, int] = {}
    projects: list[Project] = []
    existed: set[str] = set()  # labels with a page that got a project
    s = dict(errors=[], checks=[], t=Counter())
    for d in sorted(docs, key=lambda d: (d.published, d.id)):
        started = time.perf_counter()
        try:
            parsed = parse_text(d.text)
        except ParseError as exc:
            s["errors"].append(f"{describe(d)}: {exc}")
            d.outcome = "parse error"
            continue
        got = (parsed.title, parsed.category, parsed.region)
        want = (unicodedata.normalize("NFKC", d.title), category_of(d), d.region)
        if got != want:
            s["checks"].append(f"{describe(d)}: parsed {got}, generated {want}")
        linked = time.perf_counter()
        bulletin = Bulletin(
            title=parsed.title, body=join_paragraphs(parsed.paragraphs), stage=parsed.stage
        )
        bulletin.category = Category(name=parsed.category)
        d.name = project_name(bulletin)
        d.eligible = d.label is not None and d.label in existed
        if d.name:
            d.key = (name_key(d.name), place(parsed.region))
            d.project = keys.get(d.key)
            if d.project is None:
                d.project = keys[d.key] = len(projects)
                d.outcome = "new"
                projects.append(Project(d))
            else:
                d.outcome = "link"
                d.correct = d.label is not None and projects[d.project].founder.label == d.label
            projects[d.project].docs.append(d)
            if d.label is not None:
                existed.add(d.label)
        else:
            d.outcome = "no name"
        s["t"]["parse"] += linked - started
        s["t"]["link"] += time.perf_counter() - linked
    s["projects"] = projects
    return s


def category_of(d: Doc) -> str:
    if d.role == "sample":
        return parse_text(d.text).category
    return CATEGORY[d.kind]


def describe(d: Doc) -> str:
    tags = ", ".join(d.tags)
    label = d.label or "no project"
    return f"#{d.id} {d.kind} of {label} ({d.role}) {d.published} {'-'.join(d.region)} [{tags}]"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--projects", type=int, default=500, help="base projects (500)")
    parser.add_argument("--seed", type=int, default=ib.SEED, help=f"random seed ({ib.SEED})")
    parser.add_argument("--stress", action="store_true", help="add the off-list variants")
    args = parser.parse_args(argv)
    docs, specs, expected = build(args)
    s = run(docs)
    projects, t, n = s["projects"], s["t"], len(docs)
    by_label: dict[str, list[Doc]] = defaultdict(list)
    for d in docs:
        if d.label:
            by_label[d.label].append(d)

    links = [d for d in docs if d.outcome == "link"]
    tp, fp = [d for d in links if d.correct], [d for d in links if not d.correct]
    eligible = [d for d in docs if d.eligible]
    hits = [d for d in eligible if d.outcome == "link" and d.correct]
    missed_new = [d for d in eligible if d.outcome == "new"]
    missed_unnamed = [d for d in eligible if d.outcome == "no name"]
    wrong = [d for d in eligible if d.outcome == "link" and not d.correct]
    precision, recall = len(tp) / max(len(links), 1), len(hits) / max(len(eligible), 1)
    ok_p, ok_r = precision >= TARGET_PRECISION, recall >= TARGET_RECALL
    met = {True: "met", False: "**not met**"}

    news = [d for d in docs if d.label is None]
    news_new = [d for d in news if d.outcome == "new"]
    news_link = [d for d in news if d.outcome == "link"]
    labelled_new = [d for d in docs if d.label and not d.eligible and d.outcome == "new"]
    unnamed_first = [d for d in docs if d.label and not d.eligible and d.outcome == "no name"]
    splits = sum(len({d.project for d in ds if d.project is not None}) > 1
                 for ds in by_label.values())  # fmt: skip
    mixed = sum(len({d.label for d in p.docs}) > 1 for p in projects)

    twin_kept = Counter()
    twin_total = Counter()
    for spec in specs:
        if spec.twin_of:
            pa = {d.project for d in by_label[spec.label] if d.project is not None}
            pb = {d.project for d in by_label[spec.twin_of] if d.project is not None}
            twin_total[spec.role] += 1
            twin_kept[spec.role] += not (pa & pb)
    places_of_key = defaultdict(set)
    for d in docs:
        if d.key and d.label:
            places_of_key[d.key[0]].add(d.key[1])
    same_name_places = sum(len(places) > 1 for places in places_of_key.values())

    def recall_by(group) -> str:
        rows = defaultdict(lambda: [0, 0])
        for d in eligible:
            for g in group(d):
                rows[g][0] += d.outcome == "link" and d.correct
                rows[g][1] += 1
        return ", ".join(f"{g} {a}/{b}" for g, (a, b) in sorted(rows.items(), key=lambda kv: kv[0]))

    sample_names = [
        (name, d.name, want["project"])
        for d in docs
        if d.role == "sample"
        for name, want in expected.items()
        if name.startswith(d.tags[0][-3:]) and "project" in want
    ]
    names_ok = sum(got == want for _, got, want in sample_names)
    sample_links = [d for d in docs if d.role == "sample" and d.eligible]
    kinds = Counter(d.kind for d in docs if d.role != "sample")
    roles = Counter(s_.role for s_ in specs)
    base_n = roles["project"]
    figures = [
        ("Set", f"{n:,} pages: the 5 demo samples + {len(specs):,} generated projects "
         f"({base_n} projects, {len(specs) - base_n} hard-negative twins: "
         + ", ".join(f"{r} {roles[r]}" for r, _ in TWINS)
         + ") with " + ", ".join(f"{kinds[k]:,} {k}" for k in KINDS)
         + f" notices; {same_name_places} project names occur in two cities; seed {args.seed}"
         + ("; stress variants on" if args.stress else "")),
        ("Linker", "project_name (body 本招标项目…已由 / 项目名称: lines, else the title) → "
         "name_key, matched with the region's city (else province); news starts none"),
        ("Result", f"{len(links):,} predicted links: TP {len(tp):,}, FP {len(fp)}; "
         f"{len(eligible):,} pages whose project already existed: {len(hits):,} linked there, "
         f"{len(missed_new)} started a new project, {len(missed_unnamed)} got no name, "
         f"{len(wrong)} linked wrongly; precision **{precision:.4f}** (target ≥ "
         f"{TARGET_PRECISION} {met[ok_p]}), recall **{recall:.4f}** (target ≥ "
         f"{TARGET_RECALL} {met[ok_r]})"),
        ("Projects", f"{len(projects):,} created for {len(by_label):,} labelled projects "
         f"({len(labelled_new):,} by a project's first page, {len(unnamed_first)} first pages "
         f"got no name); {splits} labelled projects split over several, {mixed} mixing "
         f"labels; news: {len(news)} pages, {len(news_new)} started a project, "
         f"{len(news_link)} joined one"),
        ("Hard negatives kept apart", ", ".join(
            f"{r} {twin_kept[r]}/{twin_total[r]}" for r, _ in TWINS)),
        ("Recall by notice", recall_by(lambda d: (d.kind,))),
        ("Recall by variant", recall_by(lambda d: d.tags)),
        ("Samples", f"project names as expected.json {names_ok}/{len(sample_names)}; "
         f"004 joins 001: {'yes' if any(d.correct for d in sample_links) else 'NO'}"),
        ("Checks", f"{len(s['errors'])} parse errors, {len(s['checks'])} pages whose title, "
         "category or region parse otherwise than generated"),
        ("Timing", f"parse {t['parse'] / n * 1e3:.2f} ms/page, project_name + name_key "
         f"{t['link'] / n * 1e3:.3f} ms/page"),
    ]  # fmt: skip
    for label, text in figures:
        print(f"{label}: {text.replace('**', '')}")
    for line in (s["errors"] + s["checks"])[:8]:
        print(f"  {line}")
    for file, got, want in sample_names:
        if got != want:
            print(f"  sample {file}: project_name {got!r}, expected {want!r}")

    print(f"\nfalse positives ({len(fp)}):")
    for d in fp:
        f = projects[d.project].founder
        print(f"  {describe(d)}\n    name {d.name!r}, key {d.key}\n    joined the project of "
              f"{describe(f)}: {f.name!r}")  # fmt: skip

    misses = missed_new + missed_unnamed
    shown, seen = [], Counter()
    for d in sorted(misses, key=lambda d: d.id):
        group = tuple(t_ for t_ in d.tags if not t_.startswith("body ")) or d.tags
        if seen[group] < 2 and len(shown) < 16:
            seen[group] += 1
            shown.append(d)
    print(f"\nmisses ({len(misses)}; up to 2 per kind of variant, 16 in all):")
    for d in shown:
        print(f"  {describe(d)}\n    title {d.title!r}\n    name {d.name!r}, key {d.key or '-'}")
        before = {e.project for e in by_label[d.label] if (e.published, e.id) < (d.published, d.id)}
        for j in sorted(before - {None}):
            f = projects[j].founder
            start = f"#{f.id} {f.kind} [{', '.join(f.tags)}]"
            print(f"    its project so far: {f.name!r}, key {f.key} (started by {start})")

    measured = ["news/linking.py", "news/importing/parser.py", "news/text.py"]
    dirty = subprocess.run(["git", "-C", str(ROOT), "diff", "--quiet", "HEAD", "--", *measured])
    if dirty.returncode:
        changed = subprocess.run(
            ["git", "-C", str(ROOT), "diff", "--name-only", "HEAD", "--", *measured],
            capture_output=True,
            text=True,
        ).stdout.split()
        commit = f"{commit_id()} + uncommitted changes in {', '.join(changed)}"
    else:
        commit = commit_id()
    command = " ".join([".venv/bin/python bench/project_linking_eval.py", *(argv or sys.argv[1:])])
    print("\n---- paste into BENCHMARKS.md " + "-" * 40)
    print(f"#### {datetime.date.today()} · {commit} — project linking labelled set\n")
    cores = len(os.sched_getaffinity(0))
    print(f"- Machine: {cores} cores (nproc), Python {platform.python_version()}")
    print(f"- Command: `{command}`")
    for label, text in figures:
        print(f"- {label}: {text}")
    print("-" * 70)
    return 0 if ok_p and ok_r else 1


if __name__ == "__main__":
    sys.exit(main())
