"""Which file column feeds which field: header aliases in English and Chinese.

Headers are compared after folding case, full-width characters, spaces, underscores, hyphens and
dots, so ``Customer ID``, ``customer_id`` and ``ＣＵＳＴＯＭＥＲ－ＩＤ`` all match. Simplified and
traditional Chinese spellings are both listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from patronage.messages import N_, Message
from patronage.storage.importing.parsing import to_halfwidth
from patronage.storage.importing.report import shorten

_CUSTOMER_REF = ("customer_id", "customer", "customer no", "customer number", "客户编号",
                 "客戶編號", "客户ID", "客戶ID", "客户号", "客戶號", "会员编号", "會員編號")

ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "customers": {
        "external_id": ("external_id", "customer_id", "id", "customer no", "customer number",
                        "客户编号", "客戶編號", "客户ID", "客戶ID", "客户号", "客戶號", "会员编号",
                        "會員編號"),
        "name": ("name", "customer name", "姓名", "客户名称", "客戶名稱", "名称", "名稱",
                 "客户姓名", "客戶姓名"),
        "phone": ("phone", "mobile", "tel", "telephone", "phone number", "mobile phone", "手机",
                  "手機", "电话", "電話", "手机号", "手機號", "手机号码", "手機號碼", "联系电话",
                  "聯繫電話"),
        "email": ("email", "e-mail", "mail", "email address", "邮箱", "郵箱", "电子邮件",
                  "電子郵件", "电子邮箱", "電子郵箱"),
        "birthday": ("birthday", "date of birth", "birth date", "dob", "生日", "出生日期"),
        "region": ("region", "province", "地区", "地區", "区域", "區域", "省份"),
        "industry": ("industry", "行业", "行業"),
        "size": ("size", "company size", "规模", "規模", "企业规模", "企業規模"),
        "channel": ("channel", "渠道", "通路"),
        "tier": ("tier", "level", "member level", "等级", "等級", "会员等级", "會員等級"),
        "consent_survey": ("consent_survey", "survey consent", "同意调查", "同意調查"),
        "consent_marketing": ("consent_marketing", "marketing consent", "同意营销",
                              "同意行銷"),
        "consent_care": ("consent_care", "care consent", "同意回访", "同意回訪"),
    },
    "transactions": {
        "external_id": ("external_id", "transaction_id", "transaction no", "order id",
                        "order_no", "order number", "订单号", "訂單號", "订单编号", "訂單編號",
                        "交易编号", "交易編號"),
        "customer": _CUSTOMER_REF,
        "occurred_at": ("occurred_at", "date", "time", "datetime", "order date", "order time",
                        "transaction date", "日期", "时间", "時間", "交易日期", "交易时间",
                        "交易時間", "下单时间", "下單時間", "订单日期", "訂單日期"),
        "amount": ("amount", "total", "sales", "revenue", "金额", "金額", "销售额", "銷售額",
                   "订单金额", "訂單金額"),
        "cost": ("cost", "成本"),
        "product": ("product", "item", "产品", "產品", "商品"),
        "category": ("category", "品类", "品類", "类别", "類別"),
        "channel": ("channel", "渠道", "通路"),
        "is_refund": ("is_refund", "refund", "退款", "是否退款"),
        "refund_of": ("refund_of", "original_order", "original order", "original order id",
                      "refund for", "原订单号", "原訂單號", "原订单", "原訂單", "退款原单",
                      "退款原單", "原交易编号", "原交易編號"),
    },
    "responses": {
        "external_id": ("external_id", "response_id", "response no", "响应编号", "響應編號",
                        "回答编号", "回答編號", "答卷编号", "答卷編號", "回应编号", "回應編號"),
        "survey": ("survey", "survey code", "survey_code", "问卷", "問卷", "问卷编号",
                   "問卷編號", "调查代码", "調查代碼"),
        "wave": ("wave", "批次", "波次"),
        "customer": _CUSTOMER_REF,
        "channel": ("channel", "渠道", "通路"),
        "language": ("language", "lang", "语言", "語言"),
        "started_at": ("started_at", "started", "开始时间", "開始時間"),
        "submitted_at": ("submitted_at", "submitted", "submission time", "提交时间",
                         "提交時間"),
        "weight": ("weight", "权重", "權重"),
        # The touchpoint the answer is about, by the id ``patronage import touchpoints`` read.
        "touchpoint": ("touchpoint_id", "touchpoint id", "touchpoint no", "touchpoint",
                       "触点编号", "觸點編號", "接触点编号", "接觸點編號", "触点", "觸點"),
    },
}

#: Fields without which a file cannot be imported.
REQUIRED: dict[str, tuple[str, ...]] = {
    "customers": ("external_id", "name"),
    "transactions": ("external_id", "customer", "occurred_at", "amount"),
    "responses": ("external_id", "survey", "submitted_at"),
}

_FOLD = re.compile(r"[\s_\-.]+")


def fold_header(header: str) -> str:
    """The comparison key of a header: half-width, lower case, no separators."""
    return _FOLD.sub("", to_halfwidth(str(header)).strip().lower())


@dataclass
class ColumnMap:
    """The outcome of matching headers: ``fields`` maps field -> header; ``extra`` keeps the
    other headers in file order; ``problems`` are (header, message) pairs for line 1."""

    fields: dict[str, str] = field(default_factory=dict)
    extra: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)

    def labels(self) -> dict[str, str]:
        """Field -> the column as the user sees it (``手机 (phone)``)."""
        return {f: (h if fold_header(h) == fold_header(f) else f"{h} ({f})")
                for f, h in self.fields.items()}


def map_columns(kind: str, headers: list[str]) -> ColumnMap:
    """Match ``headers`` to the fields of ``kind``; report duplicates and missing columns."""
    return match_columns(headers, ALIASES[kind], REQUIRED[kind])


def match_columns(headers: list[str], aliases: dict[str, tuple[str, ...]],
                  required=()) -> ColumnMap:
    """Match ``headers`` to fields by ``aliases`` (field → known names, compared with
    :func:`fold_header`); report two columns meaning one field and missing ``required`` ones."""
    lookup = {fold_header(alias): name for name, known in aliases.items() for alias in known}
    result = ColumnMap()
    for header in headers:
        name = lookup.get(fold_header(header))
        if name is None:
            result.extra.append(header)
        elif name in result.fields:
            result.problems.append((header, Message(
                N_("columns {first!r} and {second!r} both mean {field!r}; keep one of them"),
                first=shorten(result.fields[name]), second=shorten(header), field=name)))
        else:
            result.fields[name] = header
    for name in required:
        if name not in result.fields:
            examples = ", ".join(repr(a) for a in aliases[name][:4])
            result.problems.append((name, Message(N_(
                "required column missing: add a column named {examples} (or another known name "
                "for it)"), examples=examples)))
    return result


__all__ = ["ALIASES", "ColumnMap", "REQUIRED", "fold_header", "map_columns", "match_columns"]
