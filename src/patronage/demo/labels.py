"""The demo company's category labels: every region, industry, size, channel, tier, product,
product category, churn reason, competitor and system-made case subject of its data, in
English, Simplified and Traditional Chinese (what a company enters on the Labels page)."""

from __future__ import annotations

from patronage.demo.population import CHANNELS, INDUSTRIES, REGIONS, SIZES, TIERS
from patronage.demo.purchases import CATEGORIES, PRODUCTS
from patronage.demo.service import COMPETITORS, DEFECTION_REASONS

#: ``{kind: {value: (en, zh_Hans, zh_Hant)}}``
LABELS: dict[str, dict[str, tuple[str, str, str]]] = {
    "region": {
        "East China": ("East China", "华东", "華東"),
        "North China": ("North China", "华北", "華北"),
        "South China": ("South China", "华南", "華南"),
        "Southwest China": ("Southwest China", "西南", "西南"),
        "Overseas": ("Overseas", "海外", "海外"),
    },
    "industry": {
        "manufacturing": ("Manufacturing", "制造业", "製造業"),
        "retail": ("Retail", "零售", "零售"),
        "healthcare": ("Healthcare", "医疗健康", "醫療健康"),
        "education": ("Education", "教育", "教育"),
        "logistics": ("Logistics", "物流", "物流"),
        "energy": ("Energy", "能源", "能源"),
    },
    "size": {
        "small": ("Small", "小型", "小型"),
        "medium": ("Medium", "中型", "中型"),
        "large": ("Large", "大型", "大型"),
        "key account": ("Key account", "重点客户", "重點客戶"),
    },
    "channel": {
        "direct": ("Direct", "直销", "直銷"),
        "distributor": ("Distributor", "经销商", "經銷商"),
        "online": ("Online", "线上", "線上"),
    },
    "tier": {
        "platinum": ("Platinum", "白金", "白金"),
        "gold": ("Gold", "金牌", "金牌"),
        "silver": ("Silver", "银牌", "銀牌"),
        "bronze": ("Bronze", "铜牌", "銅牌"),
    },
    "category": {
        "equipment": ("Equipment", "设备", "設備"),
        "spare parts": ("Spare parts", "备件", "備件"),
        "service contract": ("Service contract", "服务合同", "服務合約"),
        "training": ("Training", "培训", "培訓"),
        "consumables": ("Consumables", "耗材", "耗材"),
    },
    "product": {
        "CNC lathe HX-200": ("CNC lathe HX-200", "数控车床 HX-200", "數控車床 HX-200"),
        "Packaging line PL-5": ("Packaging line PL-5", "包装生产线 PL-5", "包裝生產線 PL-5"),
        "Air compressor AC-75": ("Air compressor AC-75", "空气压缩机 AC-75", "空氣壓縮機 AC-75"),
        "Industrial robot arm RA-6": ("Industrial robot arm RA-6", "工业机械臂 RA-6",
                                      "工業機械臂 RA-6"),
        "Laser cutter LC-3015": ("Laser cutter LC-3015", "激光切割机 LC-3015",
                                 "雷射切割機 LC-3015"),
        "Spindle bearing kit": ("Spindle bearing kit", "主轴轴承套件", "主軸軸承套件"),
        "Servo motor": ("Servo motor", "伺服电机", "伺服馬達"),
        "Control board": ("Control board", "控制板", "控制板"),
        "Filter set": ("Filter set", "滤芯套装", "濾芯套裝"),
        "Hydraulic pump": ("Hydraulic pump", "液压泵", "液壓泵"),
        "Annual maintenance contract": ("Annual maintenance contract", "年度维保合同",
                                        "年度維保合約"),
        "Extended warranty 2y": ("Extended warranty, 2 years", "延长保修 2 年", "延長保固 2 年"),
        "Remote monitoring plan": ("Remote monitoring plan", "远程监控服务", "遠端監控服務"),
        "Operator training course": ("Operator training course", "操作员培训课程",
                                     "操作員培訓課程"),
        "Maintenance certification": ("Maintenance certification", "维修认证", "維修認證"),
        "On-site workshop": ("On-site workshop", "现场工作坊", "現場工作坊"),
        "Cutting tools pack": ("Cutting tools pack", "刀具套装", "刀具套裝"),
        "Lubricant 20L": ("Lubricant 20 L", "润滑油 20 升", "潤滑油 20 公升"),
        "Packaging film roll": ("Packaging film roll", "包装膜卷", "包裝膜捲"),
        "Welding wire 15kg": ("Welding wire 15 kg", "焊丝 15 公斤", "焊絲 15 公斤"),
        "Abrasive discs": ("Abrasive discs", "砂轮片", "砂輪片"),
    },
    "churn_reason": {
        "price": ("Price", "价格", "價格"),
        "service response too slow": ("Service response too slow", "服务响应太慢",
                                      "服務回應太慢"),
        "product quality": ("Product quality", "产品质量", "產品品質"),
        "delivery delays": ("Delivery delays", "交货延迟", "交貨延遲"),
        "relationship with sales rep": ("Relationship with the sales rep", "与销售代表的关系",
                                        "與銷售代表的關係"),
        "moved production": ("Moved production", "生产转移", "生產轉移"),
    },
    "competitor": {
        "Hengtai Machinery 恒泰机械": ("Hengtai Machinery", "恒泰机械", "恆泰機械"),
        "Apex Industrial Systems": ("Apex Industrial Systems", "艾派克斯工业系统",
                                    "艾派克斯工業系統"),
        "Kunlun Equipment 昆仑装备": ("Kunlun Equipment", "昆仑装备", "崑崙裝備"),
        "Meridian Tools GmbH": ("Meridian Tools GmbH", "梅里迪安工具", "梅里迪安工具"),
        "hengtai": ("Hengtai Machinery", "恒泰机械", "恆泰機械"),  # the survey's rating code
    },
    "case_subject": {
        "Late delivery": ("Late delivery", "交货延迟", "交貨延遲"),
        "Delivery arrived damaged": ("Delivery arrived damaged", "到货破损", "到貨破損"),
        "交货延迟": ("Late delivery", "交货延迟", "交貨延遲"),
        "Installation not finished on time": ("Installation not finished on time",
                                              "安装未按时完成", "安裝未按時完成"),
        "安装质量问题": ("Installation quality problem", "安装质量问题", "安裝品質問題"),
        "Engineer did not arrive": ("Engineer did not arrive", "工程师未到场", "工程師未到場"),
        "Repeated breakdown after repair": ("Repeated breakdown after repair", "维修后反复故障",
                                            "維修後反覆故障"),
        "维修不及时": ("Repair not in time", "维修不及时", "維修不及時"),
        "Wrong invoice amount": ("Wrong invoice amount", "发票金额错误", "發票金額錯誤"),
        "发票信息错误": ("Wrong invoice details", "发票信息错误", "發票資訊錯誤"),
        "Order confirmation missing": ("Order confirmation missing", "未收到订单确认",
                                       "未收到訂單確認"),
        "订单数量错误": ("Wrong order quantity", "订单数量错误", "訂單數量錯誤"),
        "Refund still not received": ("Refund still not received", "仍未收到退款",
                                      "仍未收到退款"),
        "退货流程太复杂": ("Return process too complicated", "退货流程太复杂", "退貨流程太複雜"),
        "Spare part availability": ("Spare part availability", "备件供货咨询", "備件供貨諮詢"),
        "Quote for a second machine": ("Quote for a second machine", "第二台设备报价",
                                       "第二台設備報價"),
        "Warranty question": ("Warranty question", "保修问题", "保固問題"),
        "Training schedule": ("Training schedule", "培训安排", "培訓安排"),
        "配件价格咨询": ("Spare part price inquiry", "配件价格咨询", "配件價格諮詢"),
        "保修期咨询": ("Warranty period inquiry", "保修期咨询", "保固期諮詢"),
        "设备操作问题": ("Equipment operation question", "设备操作问题", "設備操作問題"),
        "Follow up survey answer": ("Follow up survey answer", "跟进问卷回答", "跟進問卷回答"),
        **{f"Follow up survey answer (NPS {n})": (f"Follow up survey answer (NPS {n})",
                                                  f"跟进问卷回答（NPS {n}）",
                                                  f"跟進問卷回答（NPS {n}）")
           for n in range(11)},
    },
}

_EXPECTED = {"region": REGIONS, "industry": INDUSTRIES, "size": SIZES, "channel": CHANNELS,
             "tier": TIERS, "category": CATEGORIES,
             "product": tuple(p for items in PRODUCTS.values() for p in items),
             "churn_reason": DEFECTION_REASONS, "competitor": tuple(c[0] for c in COMPETITORS)}


def label_rows() -> list[dict]:
    """Rows of the ``category_labels`` table: one per kind, value and language."""
    return [{"kind": kind, "value": value, "language": language, "label": label}
            for kind, values in LABELS.items() for value, texts in values.items()
            for language, label in zip(("en", "zh_Hans", "zh_Hant"), texts, strict=True)]


def unlabelled() -> dict[str, list[str]]:
    """Values the demo data use that have no labels here (empty: every value is labelled)."""
    return {kind: missing for kind, values in _EXPECTED.items()
            if (missing := [v for v in values if v not in LABELS[kind]])}


__all__ = ["LABELS", "label_rows", "unlabelled"]
