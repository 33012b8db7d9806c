"""The demo's care texts: call scripts of the follow-up rules and the win-back campaign, the
care calendar's occasions with their greetings, agents' call notes and key-account visit reports
(:mod:`patronage.demo.care` uses them)."""

from __future__ import annotations

#: Call scripts per rule code (and ``win_back`` for the campaign): en, zh_Hans, zh_Hant.
SCRIPTS = {
    "case_followup": (
        "Hello {name}, this is customer care. Your request was resolved two days ago: is "
        "everything as it should be now? Is there anything else we can do?",
        "您好，{name}！这里是客户服务中心。您反映的问题已于前两天处理完毕，想回访一下：问题是否已彻底解决？"
        "您对处理结果满意吗？",
        "您好，{name}！這裡是客戶服務中心。您反映的問題已於前兩天處理完畢，想回訪一下：問題是否已徹底解決？"
        "您對處理結果滿意嗎？"),
    "install_followup": (
        "Hello {name}, our engineer installed your equipment yesterday. Is it running well, and "
        "were you happy with the installation team?",
        "您好，{name}！我们的工程师昨天为您完成了设备安装，请问设备运行是否正常？对安装人员的服务满意吗？",
        "您好，{name}！我們的工程師昨天為您完成了設備安裝，請問設備運行是否正常？對安裝人員的服務滿意嗎？"),
    "purchase_followup": (
        "Hello {name}, thank you for buying {product}. Has it arrived in good order, and do you "
        "need training or help to start it up?",
        "您好，{name}！感谢您购买{product}。请问货物是否完好送达？是否需要安排培训或开机调试？",
        "您好，{name}！感謝您購買{product}。請問貨物是否完好送達？是否需要安排培訓或開機調試？"),
    "key_account_visit": (
        "Visit {name}: review the year's orders, open issues and next year's plans.",
        "拜访{name}：回顾全年订单与未结问题，了解明年的采购计划。",
        "拜訪{name}：回顧全年訂單與未結問題，了解明年的採購計劃。"),
    "top_tier_alive_drop": (
        "Hello {name}, we have not seen an order from you for a while. Is there anything about "
        "our products or service we should improve?",
        "您好，{name}！我们注意到贵公司近期订单减少，想了解一下我们的产品或服务有哪些需要改进的地方？",
        "您好，{name}！我們注意到貴公司近期訂單減少，想了解一下我們的產品或服務有哪些需要改進的地方？"),
    "win_back": (
        "Hello {name}, we miss you! Until the end of May your next order comes with a free "
        "maintenance check and 10% off spare parts.",
        "您好，{name}！好久不见，非常想念与贵公司的合作。5月底前再次下单可享免费设备保养一次及备件九折优惠。",
        "您好，{name}！好久不見，非常想念與貴公司的合作。5月底前再次下單可享免費設備保養一次及備件九折優惠。"),
}
#: (code, kind, names en/zh_Hans/zh_Hant, month, day, lunar, action, channel, task type, gift,
#:  gift cost, tiers, days before, templates en/zh_Hans/zh_Hant)
OCCASIONS = (
    ("spring_festival", "festival", ("Spring Festival", "春节", "春節"), 1, 1, True,
     "greeting", "sms", None, None, None, None, 0,
     ("Happy Chinese New Year, {name}! Thank you for your trust; we wish you a prosperous "
      "year.", "{name}，新春快乐！感谢您一直以来的信任与支持，祝您新年大吉、万事如意！",
      "{name}，新春快樂！感謝您一直以來的信任與支持，祝您新年大吉、萬事如意！")),
    ("spring_festival_gift", "festival", ("Spring Festival gift", "春节礼品", "春節禮品"), 1, 1,
     True, "task", None, "visit", "新春礼盒", 380.0, ["platinum"], 7, (None, None, None)),
    ("mid_autumn", "festival", ("Mid-Autumn Festival", "中秋节", "中秋節"), 8, 15, True,
     "greeting", "sms", None, None, None, None, 0,
     ("Happy Mid-Autumn Festival, {name}! May your family be together and well.",
      "{name}，中秋快乐！花好月圆，祝您阖家团圆、事业兴旺！",
      "{name}，中秋快樂！花好月圓，祝您闔家團圓、事業興旺！")),
    ("birthday", "birthday", ("Birthday", "生日", "生日"), None, None, False, "greeting", "sms",
     None, None, None, ["gold", "platinum"], 0,
     ("Happy birthday, {name}! Best wishes from all of us.",
      "{name}，生日快乐！全体同仁祝您身体健康、万事顺意！",
      "{name}，生日快樂！全體同仁祝您身體健康、萬事順意！")),
    ("company_anniversary", "company", ("Company anniversary", "公司周年庆", "公司週年慶"), 9,
     18, False, "greeting", "sms", None, None, None, None, 0,
     ("{name}, we turn 20 this month: thank you for being with us!",
      "{name}，感谢您的陪伴！本月是我们公司成立二十周年，周年庆期间备件全场九五折。",
      "{name}，感謝您的陪伴！本月是我們公司成立二十週年，週年慶期間備件全場九五折。")),
)
VISIT_REPORTS = (
    "拜访设备部负责人，了解二期产线扩建计划，客户有意追加两台数控车床，已约下月报价。",
    "与采购经理面谈，客户对交付速度满意，但希望备件价格再优惠，已反馈给销售。",
    "现场查看设备运行情况，一台空压机噪音偏大，已安排工程师下周上门检修。",
    "拜访总经理，回顾全年合作，客户认可售后响应，提出希望增加操作员培训。",
    "客户反映竞争对手近期报价较低，需关注价格敏感度，建议大客户组评估年度框架协议。",
    "参加客户年度供应商会议，我司评分良好，维保合同续签意向明确。",
    "与生产主管沟通，设备利用率高，耗材用量上升，建议推荐远程监控服务。",
    "例行拜访，客户暂无新需求，留下新版产品目录，约定下季度再访。",
)
NOTES_OK = ("客户表示满意，设备运行正常。", "客户满意，无其他需求。", "客户对服务表示感谢。",
            "客户对安装和培训都很满意。")
NOTES_PROBLEM = ("客户反映设备偶有异响，需安排工程师上门。", "客户称发票信息有误，需财务跟进。",
                 "客户对配件交货时间不满意。", "客户称开机后报故障代码，需技术支持远程排查。")

__all__ = ["NOTES_OK", "NOTES_PROBLEM", "OCCASIONS", "SCRIPTS", "VISIT_REPORTS"]
