"""The demo company's customers: names, contacts, segments and latent per-customer traits.

About 70% of the customers are Chinese (companies named ``<city><brand><industry>有限公司`` or
contact persons like 王伟), 30% English-named companies. Segments (region, industry, size,
channel) are drawn with fixed shares; the tier is set later from the purchase value
(:func:`assign_tiers`). Every customer carries ``attributes = {"demo": True, ...}`` so that a demo
database can be told apart from a real one.

Some customers are marked in the CRM as having no real alternative (a sole supplier) or as
relationship customers (:func:`loyalty_flags`): the attributes the monopoly and affinity loyalty
types read.

Each customer also gets a persistent latent quality level on the five survey dimensions
(``u_<dimension>``), drawn once here and shared by the purchase model (dropout depends
on it: the satisfaction–retention link) and the survey model.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

#: The five latent quality dimensions of the survey model, in a fixed order.
DIMENSIONS = ("product", "service", "brand", "price", "communication")

REGIONS = ("East China", "North China", "South China", "Southwest China", "Overseas")
REGION_SHARES = (0.32, 0.22, 0.2, 0.1, 0.16)
INDUSTRIES = ("manufacturing", "retail", "healthcare", "education", "logistics", "energy")
INDUSTRY_SHARES = (0.34, 0.16, 0.14, 0.1, 0.14, 0.12)
SIZES = ("small", "medium", "large", "key account")
SIZE_SHARES = (0.45, 0.3, 0.15, 0.1)
CHANNELS = ("direct", "distributor", "online")
CHANNEL_SHARES = (0.45, 0.35, 0.2)
TIERS = ("bronze", "silver", "gold", "platinum")

_CITIES_BY_REGION = {
    "East China": ("上海", "杭州", "苏州", "南京", "宁波", "无锡", "合肥", "济南"),
    "North China": ("北京", "天津", "石家庄", "太原", "青岛", "大连"),
    "South China": ("广州", "深圳", "东莞", "佛山", "厦门", "珠海"),
    "Southwest China": ("成都", "重庆", "昆明", "贵阳"),
    "Overseas": ("新加坡", "香港", "吉隆坡", "曼谷"),
}
_BRAND_SYLLABLES = ("华", "东", "盛", "恒", "泰", "宏", "达", "信", "金", "瑞", "鑫", "新", "远",
                    "海", "天", "中", "通", "联", "丰", "顺", "博", "安", "德", "正", "永", "嘉")
_INDUSTRY_WORDS = {
    "manufacturing": ("精密机械", "机电设备", "自动化", "重工", "五金制品"),
    "retail": ("商贸", "百货", "连锁超市", "电子商务"),
    "healthcare": ("医疗器械", "医药", "健康科技", "医院管理"),
    "education": ("教育科技", "职业培训", "文化传媒"),
    "logistics": ("物流", "供应链管理", "仓储运输", "货运代理"),
    "energy": ("能源", "新能源科技", "电力设备", "燃气"),
}
_COMPANY_SUFFIXES = ("有限公司", "股份有限公司", "科技有限公司", "集团有限公司")
_SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱",
             "胡", "郭", "何", "林", "罗", "高")
_GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
          "明", "超", "秀英", "霞", "平", "刚", "桂英", "建华", "晓东", "志强", "海燕")
_PINYIN_SURNAMES = ("wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou",
                    "xu", "sun", "ma", "zhu", "hu", "guo", "he", "lin", "luo", "gao")
_EN_FIRST = ("Northwind", "Bluestone", "Silverline", "Redwood", "Harbor", "Summit", "Crescent",
             "Ironbridge", "Lakeside", "Pioneer", "Evergreen", "Granite", "Atlas", "Falcon",
             "Maple", "Orion", "Sterling", "Westfield", "Brightwater", "Keystone")
_EN_SECOND = {
    "manufacturing": ("Engineering", "Machinery", "Fabrication", "Industries"),
    "retail": ("Traders", "Retail Group", "Stores", "Trading"),
    "healthcare": ("Medical", "Health Systems", "Clinics", "Biotech"),
    "education": ("Learning", "Academy", "Education Services"),
    "logistics": ("Logistics", "Freight", "Shipping", "Supply Chain"),
    "energy": ("Energy", "Power", "Renewables", "Utilities"),
}
_EN_SUFFIXES = ("Ltd", "Co.", "Inc.", "Pte Ltd", "GmbH", "LLC")
_MOBILE_PREFIXES = ("138", "139", "137", "136", "135", "150", "151", "158", "186", "188", "189")

#: Latent-quality shifts by segment (in latent standard-deviation units), added to ``u_*``.
SEGMENT_SHIFTS = {
    ("region", "Overseas"): {"service": -0.35, "communication": -0.25},
    ("region", "East China"): {"service": 0.1},
    ("size", "key account"): {"service": 0.25, "communication": 0.2, "price": -0.15},
    ("size", "small"): {"price": 0.1, "service": -0.1},
    ("channel", "online"): {"communication": -0.2, "price": 0.2},
    ("channel", "distributor"): {"service": -0.15},
    ("industry", "healthcare"): {"product": 0.15},
    ("industry", "energy"): {"product": -0.1},
}

#: Covariance of the persistent customer-level latent qualities (0.6 variance, 0.2 covariance).
CUSTOMER_LATENT_COV = 0.4 * np.eye(len(DIMENSIONS)) + 0.2


def _choice(rng: np.random.Generator, values, shares, n: int) -> np.ndarray:
    shares = np.asarray(shares, dtype=float)
    index = rng.choice(len(values), size=n, p=shares / shares.sum())
    return np.asarray(values, dtype=object)[index]


def _pick(rng: np.random.Generator, values, n: int) -> np.ndarray:
    return np.asarray(values, dtype=object)[rng.integers(0, len(values), size=n)]


def _chinese_names(rng, n, regions, industries, is_person):
    brand = _pick(rng, _BRAND_SYLLABLES, n) + _pick(rng, _BRAND_SYLLABLES, n)
    suffix = _pick(rng, _COMPANY_SUFFIXES, n)
    city_draw = rng.random(n)
    word_draw = rng.random(n)
    surname = _pick(rng, _SURNAMES, n)
    given = _pick(rng, _GIVEN, n)
    names = []
    for i in range(n):
        if is_person[i]:
            names.append(f"{surname[i]}{given[i]}")
            continue
        cities = _CITIES_BY_REGION[regions[i]]
        words = _INDUSTRY_WORDS[industries[i]]
        city = cities[int(city_draw[i] * len(cities))]
        word = words[int(word_draw[i] * len(words))]
        names.append(f"{city}{brand[i]}{word}{suffix[i]}")
    return names


def _english_names(rng, n, industries):
    first = _pick(rng, _EN_FIRST, n)
    suffix = _pick(rng, _EN_SUFFIXES, n)
    draw = rng.random(n)
    names = []
    for i in range(n):
        words = _EN_SECOND[industries[i]]
        names.append(f"{first[i]} {words[int(draw[i] * len(words))]} {suffix[i]}")
    return names


def _emails(rng, names_chinese, is_person, external_ids, first_names):
    pinyin = _pick(rng, _PINYIN_SURNAMES, len(external_ids))
    domains = _pick(rng, ("163.com", "qq.com", "126.com", "sina.com"), len(external_ids))
    out = []
    for i, ext in enumerate(external_ids):
        number = ext[1:].lstrip("0") or "0"
        if names_chinese[i] and is_person[i]:
            out.append(f"{pinyin[i]}{number}@{domains[i]}")
        elif names_chinese[i]:
            out.append(f"service{number}@{pinyin[i]}-{number}.com.cn")
        else:
            slug = first_names[i].split(" ")[0].lower()
            out.append(f"contact{number}@{slug}{number}.example.com")
    return out


def acquisition_times(rng: np.random.Generator, n: int, today: date) -> pd.Series:
    """Acquisition (first purchase) times in monthly cohorts over the two years before ``today``.

    Cohorts shrink over time (more customers in the first year) so that the survey waves of
    the last year have a large enough base of customers.
    """
    start = datetime.combine(today, datetime.min.time()) - timedelta(days=730)
    months = 24
    cohort_weights = np.linspace(1.8, 0.6, months)
    cohort = rng.choice(months, size=n, p=cohort_weights / cohort_weights.sum())
    day = cohort * (730 / months) + rng.random(n) * (730 / months)
    hours = 8 + rng.random(n) * 10
    offsets = (pd.to_timedelta(np.floor(day), unit="D")
               + pd.to_timedelta(np.round(hours * 3600), unit="s"))
    # Leave at least a week between acquisition and today.
    limit = pd.Timestamp(start) + pd.Timedelta(days=723)
    return pd.Series(pd.Timestamp(start) + offsets).clip(upper=limit)


def segment_shift(customers: pd.DataFrame) -> np.ndarray:
    """Latent mean shift per customer and dimension from the segment (``SEGMENT_SHIFTS``)."""
    shift = np.zeros((len(customers), len(DIMENSIONS)))
    for (column, value), effects in SEGMENT_SHIFTS.items():
        mask = (customers[column] == value).to_numpy()
        for dim, effect in effects.items():
            shift[mask, DIMENSIONS.index(dim)] += effect
    return shift


def generate_customers(rng: np.random.Generator, n: int, today: date) -> pd.DataFrame:
    """Customer profiles (``tier`` left empty; see :func:`assign_tiers`) and latent columns.

    The returned frame has the ``customers`` table columns (``external_id`` instead of the DB
    key) plus the private columns ``acquired_at``, ``chinese`` and ``u_<dimension>``, which
    :mod:`patronage.demo` moves into the truth before publishing the frame.
    """
    external_ids = [f"C{i:05d}" for i in range(1, n + 1)]
    region = _choice(rng, REGIONS, REGION_SHARES, n)
    industry = _choice(rng, INDUSTRIES, INDUSTRY_SHARES, n)
    size = _choice(rng, SIZES, SIZE_SHARES, n)
    channel = _choice(rng, CHANNELS, CHANNEL_SHARES, n)
    # Overseas customers are mostly English-named; elsewhere 80% Chinese names (70% overall).
    chinese = rng.random(n) < np.where(region == "Overseas", 0.2, 0.8)
    is_person = (rng.random(n) < 0.25) & (size == "small")
    zh = _chinese_names(rng, n, region, industry, is_person)
    en = _english_names(rng, n, industry)
    names = [zh[i] if chinese[i] else en[i] for i in range(n)]
    emails = _emails(rng, chinese, is_person, external_ids, en)
    prefix = _pick(rng, _MOBILE_PREFIXES, n)
    digits = rng.integers(0, 10**8, size=n)
    phones = [f"+86 {prefix[i]}{digits[i]:08d}" if region[i] != "Overseas" or chinese[i]
              else f"+65 {digits[i] % 10**8:08d}" for i in range(n)]
    born_days = rng.integers(int(365.25 * 25), int(365.25 * 62), size=n)
    birthdays = [today - timedelta(days=int(d)) for d in born_days]
    has_birthday = rng.random(n) < 0.8
    acquired = acquisition_times(rng, n, today)
    frame = pd.DataFrame({
        "external_id": external_ids,
        "name": names,
        "phone": np.where(rng.random(n) < 0.95, np.asarray(phones, dtype=object), None),
        "email": np.where(rng.random(n) < 0.9, np.asarray(emails, dtype=object), None),
        "birthday": [b if has_birthday[i] else None for i, b in enumerate(birthdays)],
        "region": region,
        "industry": industry,
        "size": size,
        "channel": channel,
        "tier": None,
        "consent_survey": rng.random(n) < 0.92,
        "consent_marketing": rng.random(n) < 0.55,
        "consent_care": rng.random(n) < 0.85,
        "created_at": acquired - pd.to_timedelta(rng.integers(1, 60, size=n), unit="D"),
        "acquired_at": acquired,
        "chinese": chinese,
    })
    frame["updated_at"] = frame["created_at"]
    frame["birthday"] = frame["birthday"].astype(object)
    latent = rng.multivariate_normal(np.zeros(len(DIMENSIONS)), CUSTOMER_LATENT_COV, size=n,
                                     method="cholesky")
    latent = latent + segment_shift(frame)
    for j, dim in enumerate(DIMENSIONS):
        frame[f"u_{dim}"] = latent[:, j]
    return frame


#: Shares of customers the CRM marks as having no real alternative to the company (a sole
#: supplier: the monopoly loyalty type) and as bound to it (a relationship customer: the
#: affinity type), and the attribute names and "yes" the demo's customers file gives them
#: (names that :data:`patronage.members.report.FLAG_ATTRIBUTES` reads).
LOYALTY_FLAG_SHARES = {"few_alternatives": 0.06, "affinity": 0.04}
LOYALTY_FLAG_NAMES = {"few_alternatives": "唯一供应商", "affinity": "关系客户"}
LOYALTY_FLAG_YES = "是"


def loyalty_flags(seed: int, external_ids) -> pd.DataFrame:
    """Which customers the CRM marks ``few_alternatives`` or ``affinity`` (never both), drawn
    at random with :data:`LOYALTY_FLAG_SHARES` from a stream of their own (so every other
    frame of the demo stays as it was), independently of how they buy: the planted truth the
    loyalty types must find among the customers who buy repeatedly. Indexed by external id."""
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(21,)))
    ids = pd.Index(list(external_ids), name="customer_id")
    draw = rng.random(len(ids))
    sole = LOYALTY_FLAG_SHARES["few_alternatives"]
    return pd.DataFrame({"few_alternatives": draw < sole,
                         "affinity": (draw >= sole)
                         & (draw < sole + LOYALTY_FLAG_SHARES["affinity"])}, index=ids)


def assign_tiers(value: pd.Series) -> pd.Series:
    """Tier from two-year purchase value: top 5% platinum, next 15% gold, next 30% silver."""
    rank = value.rank(method="first", ascending=False) / len(value)
    tier = np.select([rank <= 0.05, rank <= 0.2, rank <= 0.5], ["platinum", "gold", "silver"],
                     default="bronze")
    return pd.Series(tier, index=value.index, dtype=object)


__all__ = [
    "CHANNELS",
    "DIMENSIONS",
    "INDUSTRIES",
    "LOYALTY_FLAG_NAMES",
    "LOYALTY_FLAG_SHARES",
    "LOYALTY_FLAG_YES",
    "REGIONS",
    "SEGMENT_SHIFTS",
    "SIZES",
    "TIERS",
    "acquisition_times",
    "assign_tiers",
    "generate_customers",
    "loyalty_flags",
    "segment_shift",
]
