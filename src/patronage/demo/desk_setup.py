"""The demo company's case desk set-up: staff, teams, categories, service levels and alert rules,
and the escalation steps its policies take. :mod:`patronage.demo.desk` draws the desk's cases and
:mod:`patronage.demo.desk_history` their histories from it; :mod:`patronage.demo.desk_install`
writes it to the database.
"""

from __future__ import annotations

from datetime import timedelta

from patronage.cases.setup import DEFAULT_ESCALATION

DOMAIN = "demo.patronage"
#: The settings' default: stored times are UTC, working hours count in Shanghai time (UTC+8).
TIMEZONE, UTC_OFFSET = "Asia/Shanghai", timedelta(hours=8)
APPROVAL_ABOVE = 500.0
MANAGER = f"zhou.ming@{DOMAIN}"
#: (e-mail, display name, role). Only the lead and the agent marked in PRINTED get a password.
STAFF = (
    (MANAGER, "周明（客服经理）", "admin"),
    (f"chen.jing@{DOMAIN}", "陈静", "agent"),
    (f"wang.lei@{DOMAIN}", "王磊", "agent"),
    (f"li.na@{DOMAIN}", "李娜", "agent"),
    (f"sun.bo@{DOMAIN}", "孙博", "agent"),
    (f"zhao.wei@{DOMAIN}", "赵伟", "agent"),
    (f"liu.yang@{DOMAIN}", "刘洋", "agent"),
    (f"yang.fan@{DOMAIN}", "杨帆", "agent"),
    (f"huang.li@{DOMAIN}", "黄丽", "agent"),
    (f"wu.hao@{DOMAIN}", "吴昊", "agent"),
    (f"xu.ting@{DOMAIN}", "徐婷", "agent"),
    (f"hu.min@{DOMAIN}", "胡敏", "agent"),
    (f"zheng.kai@{DOMAIN}", "郑凯", "agent"),
)
PRINTED = {f"chen.jing@{DOMAIN}": "lead", f"liu.yang@{DOMAIN}": "agent"}
#: (team, lead, agents, regions); the key-account team takes every key account's cases.
TEAMS = (
    ("华东组", "chen.jing", ("liu.yang", "yang.fan"), ("East China",)),
    ("华北组", "wang.lei", ("huang.li",), ("North China",)),
    ("华南西南组", "li.na", ("wu.hao", "xu.ting"),
     ("South China", "Southwest China")),
    ("海外组", "sun.bo", ("hu.min",), ("Overseas",)),
    ("大客户组", "zhao.wei", ("zheng.kai",), ()),
)
KEY_TEAM = TEAMS[-1][0]
ACCOUNT_OWNERS = (f"zhao.wei@{DOMAIN}", f"zheng.kai@{DOMAIN}")
CATEGORIES = (
    ("product_quality", "Product quality", "产品质量", "產品質量"),
    ("delivery", "Delivery", "交付物流", "交付物流"),
    ("installation", "Installation", "安装调试", "安裝調試"),
    ("billing", "Billing and invoices", "账单发票", "賬單發票"),
    ("attitude", "Staff attitude", "服务态度", "服務態度"),
    ("after_sales", "After-sales service", "售后维修", "售後維修"),
    ("returns", "Returns and refunds", "退货退款", "退貨退款"),
    ("inquiry", "Inquiry", "咨询", "諮詢"),
    ("survey_feedback", "Survey feedback", "调查反馈", "調查回饋"),
)
#: severity -> (policy name, first response, resolution) in business minutes (a day is 540).
POLICIES = {
    "urgent": ("紧急 Urgent", 60, 540),
    "high": ("高 High", 120, 1080),
    "normal": ("普通 Normal", 240, 2160),
    "low": ("低 Low", 480, 2700),
}
#: (code, name, condition, case type, category, severity)
ALERT_RULES = (
    ("detractor", "贬损者回访 Detractor follow-up", "nps <= 6", "detractor", "survey_feedback",
     "normal"),
    ("complaint_words", "投诉关键词 Complaint words", "comment contains 投诉|退货|律师",
     "negative_comment", "survey_feedback", "high"),
    ("key_account_low", "大客户低分 Key account below 7", "key_account and nps < 7", "detractor",
     "survey_feedback", "high"),
)


def email_of(login: str) -> str:
    return login if "@" in login else f"{login}@{DOMAIN}"


def escalation_steps() -> tuple[dict, ...]:
    return DEFAULT_ESCALATION


__all__ = [
    "ACCOUNT_OWNERS",
    "ALERT_RULES",
    "APPROVAL_ABOVE",
    "CATEGORIES",
    "DOMAIN",
    "KEY_TEAM",
    "MANAGER",
    "POLICIES",
    "PRINTED",
    "STAFF",
    "TEAMS",
    "TIMEZONE",
    "UTC_OFFSET",
    "email_of",
    "escalation_steps",
]
