"""Reference lists for the demo data generator (`claimwise seed`): people's names, branches and their
cities, partner organisations, documents and Chinese text templates (products and amounts are in
`products`).

This is demo data, not user interface: the Chinese texts are what real claim files contain, so they
are not marked for translation. Region, city and district names come from python-stdnum's `cn/loc`
database (see `identity`), so every place and every ID number region code is a real one.
"""

from __future__ import annotations

from dataclasses import dataclass

from claimwise.accounts.choices import PartnerKind
from claimwise.claims.choices import DocumentType as D
from claimwise.claims.choices import LossType as L
from claimwise.claims.choices import ReasonCode as R
from claimwise.core.choices import LineOfBusiness as LOB

# --- people -------------------------------------------------------------------------------------

# The most common surnames (第七次人口普查 order), weighted roughly by frequency.
SURNAMES = (
    "王" * 12
    + "李" * 12
    + "张" * 11
    + "刘" * 9
    + "陈" * 8
    + "杨" * 6
    + "黄" * 4
    + "赵" * 4
    + "吴" * 4
    + "周" * 4
    + "徐" * 3
    + "孙" * 3
    + "马" * 3
    + "朱" * 3
    + "胡" * 3
    + "郭" * 3
    + "何" * 3
    + "林" * 2
    + "高" * 2
    + "罗" * 2
    + "郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹"
    "薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_MALE = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林阳晨博文志建国峰亮成东海洋斌彬晖昊然轩睿哲"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀玲桂英梅琳雪婷慧莹颖洁佳倩晶琴云兰红燕萍蕾薇欣怡悦瑶璐萱涵诗雨彤梦佩月"

STREETS = (
    "人民路",
    "解放路",
    "中山路",
    "建设路",
    "和平路",
    "文化路",
    "新华路",
    "胜利路",
    "长江路",
    "黄河路",
    "学府路",
    "科技路",
    "东风路",
    "朝阳路",
    "青年路",
    "花园路",
    "幸福路",
    "光明路",
    "振兴路",
    "团结路",
    "滨河路",
    "工业路",
    "民主路",
    "体育路",
    "健康路",
    "育才路",
    "迎宾大道",
    "世纪大道",
    "金融街",
    "商业街",
    "湖滨路",
)
COMPOUNDS = ("花园", "小区", "家园", "公寓", "苑", "新村", "名苑", "府", "雅居", "华庭")
COMPOUND_NAMES = (
    "阳光",
    "锦绣",
    "翠湖",
    "金色",
    "碧桂",
    "万科",
    "绿地",
    "明珠",
    "春晓",
    "龙湖",
    "融创",
    "紫荆",
    "丽景",
)

# --- where the company works ------------------------------------------------------------------


@dataclass(frozen=True)
class City:
    prefecture: str  # 4-digit numdb prefix, e.g. "4403" (深圳市)
    name: str
    plate: str  # the province's abbreviation, then the city's letters: "粤B", "京AEFGH..."
    weight: int


@dataclass(frozen=True)
class BranchSpec:
    code: str
    name: str
    region: str
    province: str  # 2-digit numdb province code
    weight: int
    cities: tuple[City, ...]
    hospitals: tuple[str, ...] = ()
    repair_shops: tuple[str, ...] = ()


BRANCHES: tuple[BranchSpec, ...] = (
    BranchSpec(
        "BJ",
        "北京分公司",
        "华北",
        "11",
        24,
        (City("1101", "北京市", "京AEFGHJKLMNPQ", 1),),
        ("北京协和医院", "北京大学第一医院", "首都医科大学附属北京朝阳医院", "中日友好医院"),
        ("北京安达汽车维修服务有限公司", "北京顺通汽车修理厂", "北京京诚一汽丰田特约维修站"),
    ),
    BranchSpec(
        "SH",
        "上海分公司",
        "华东",
        "31",
        16,
        (City("3101", "上海市", "沪ABCDEFGHJKLMN", 1),),
        ("复旦大学附属中山医院", "上海交通大学医学院附属瑞金医院", "上海市第六人民医院"),
        ("上海永达汽车维修有限公司", "上海浦江汽车服务中心"),
    ),
    BranchSpec(
        "GD",
        "广东分公司",
        "华南",
        "44",
        16,
        (City("4401", "广州市", "粤A", 5), City("4403", "深圳市", "粤B", 5), City("4406", "佛山市", "粤E", 2)),
        ("中山大学附属第一医院", "广东省人民医院", "深圳市人民医院", "佛山市第一人民医院"),
        ("广州骏达汽车维修有限公司", "深圳鹏城汽车修配厂", "佛山禅城车之家维修中心"),
    ),
    BranchSpec(
        "ZJ",
        "浙江分公司",
        "华东",
        "33",
        11,
        (City("3301", "杭州市", "浙A", 5), City("3302", "宁波市", "浙B", 3), City("3303", "温州市", "浙C", 2)),
        ("浙江大学医学院附属第一医院", "宁波市第一医院", "温州医科大学附属第一医院"),
        ("杭州之江汽车维修有限公司", "宁波甬通汽车服务有限公司"),
    ),
    BranchSpec(
        "JS",
        "江苏分公司",
        "华东",
        "32",
        11,
        (City("3201", "南京市", "苏A", 4), City("3205", "苏州市", "苏E", 4), City("3202", "无锡市", "苏B", 2)),
        ("江苏省人民医院", "南京鼓楼医院", "苏州大学附属第一医院"),
        ("南京金陵汽车维修有限公司", "苏州姑苏汽车服务中心"),
    ),
    BranchSpec(
        "SC",
        "四川分公司",
        "西南",
        "51",
        8,
        (City("5101", "成都市", "川A", 4), City("5107", "绵阳市", "川B", 1)),
        ("四川大学华西医院", "四川省人民医院", "绵阳市中心医院"),
        ("成都蓉城汽车维修有限公司", "绵阳科城汽车修理厂"),
    ),
    BranchSpec(
        "HB",
        "湖北分公司",
        "华中",
        "42",
        7,
        (City("4201", "武汉市", "鄂A", 4), City("4205", "宜昌市", "鄂E", 1)),
        ("华中科技大学同济医学院附属同济医院", "武汉大学人民医院", "宜昌市中心人民医院"),
        ("武汉江城汽车维修有限公司", "宜昌三峡汽车服务中心"),
    ),
    BranchSpec(
        "SD",
        "山东分公司",
        "华东",
        "37",
        7,
        (City("3701", "济南市", "鲁A", 3), City("3702", "青岛市", "鲁B", 3), City("3706", "烟台市", "鲁F", 1)),
        ("山东第一医科大学第一附属医院", "青岛大学附属医院", "烟台毓璜顶医院"),
        ("济南泉城汽车维修有限公司", "青岛海滨汽车修理厂"),
    ),
)
ASSESSORS = (("ASSR-HUAAN", "华安信保险公估有限公司"), ("ASSR-ZHONGCHENG", "中诚保险公估有限公司"))

# Plate abbreviations by numdb province code (the plate's first character).
PLATE_ABBR = {
    "11": "京",
    "12": "津",
    "13": "冀",
    "14": "晋",
    "15": "蒙",
    "21": "辽",
    "22": "吉",
    "23": "黑",
    "31": "沪",
    "32": "苏",
    "33": "浙",
    "34": "皖",
    "35": "闽",
    "36": "赣",
    "37": "鲁",
    "41": "豫",
    "42": "鄂",
    "43": "湘",
    "44": "粤",
    "45": "桂",
    "46": "琼",
    "50": "渝",
    "51": "川",
    "52": "贵",
    "53": "云",
    "54": "藏",
    "61": "陕",
    "62": "甘",
    "63": "青",
    "64": "宁",
    "65": "新",
}

TEAMS: tuple[tuple[str, str, tuple[str, ...], bool], ...] = (
    # (suffix, name, lines, specialist)
    ("MOTOR", "车险理赔组", (LOB.MOTOR,), False),
    ("HEALTH", "健康意外理赔组", (LOB.HEALTH, LOB.ACCIDENT, LOB.TRAVEL), False),
    ("PROPERTY", "财产险理赔组", (LOB.PROPERTY,), False),
    ("LIFE", "寿险理赔组", (LOB.LIFE,), False),
    ("SPECIAL", "重大案件专案组", (), True),
)
TEAM_FOR_LINE = {line: suffix for suffix, _n, lines, _s in TEAMS for line in lines}

BANKS: tuple[tuple[str, str], ...] = (
    ("中国工商银行", "622202"),
    ("中国建设银行", "621700"),
    ("中国农业银行", "622848"),
    ("中国银行", "621661"),
    ("招商银行", "622588"),
    ("交通银行", "622260"),
    ("中国邮政储蓄银行", "621799"),
    ("兴业银行", "622909"),
)

# (model, World Manufacturer Identifier of its Chinese maker)
VEHICLES: tuple[tuple[str, str], ...] = (
    ("大众朗逸", "LSV"),
    ("大众速腾", "LFV"),
    ("丰田卡罗拉", "LFM"),
    ("丰田凯美瑞", "LVG"),
    ("本田雅阁", "LHG"),
    ("日产轩逸", "LGB"),
    ("别克英朗", "LSG"),
    ("比亚迪秦PLUS", "LGX"),
    ("比亚迪宋PLUS", "LGX"),
    ("特斯拉Model 3", "LRW"),
    ("吉利帝豪", "L6T"),
    ("哈弗H6", "LGW"),
    ("长安CS75", "LS5"),
    ("宝马3系", "LBV"),
    ("奔驰C级", "LE4"),
    ("奥迪A4L", "LFV"),
)

FOREIGN_PLACES = (
    "泰国曼谷",
    "日本东京",
    "日本大阪",
    "韩国首尔",
    "新加坡",
    "马来西亚吉隆坡",
    "法国巴黎",
    "意大利罗马",
    "澳大利亚悉尼",
    "美国洛杉矶",
    "印度尼西亚巴厘岛",
    "越南岘港",
)
AIRPORTS = ("北京首都国际机场", "上海浦东国际机场", "广州白云国际机场", "深圳宝安国际机场", "成都天府国际机场")

# --- partners -----------------------------------------------------------------------------------
PARTNER_KIND_FOR_LOSS = {
    L.COLLISION: PartnerKind.REPAIR_SHOP,
    L.GLASS: PartnerKind.REPAIR_SHOP,
    L.NATURAL_DISASTER: PartnerKind.REPAIR_SHOP,
    L.HOSPITALIZATION: PartnerKind.HOSPITAL,
    L.OUTPATIENT: PartnerKind.HOSPITAL,
    L.CRITICAL_ILLNESS: PartnerKind.HOSPITAL,
    L.ACCIDENTAL_INJURY: PartnerKind.HOSPITAL,
    L.DISABILITY: PartnerKind.HOSPITAL,
}

# --- texts ----------------------------------------------------------------------------------------
DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    L.COLLISION: (
        "在{street}与前车追尾，本车前保险杠、大灯受损，无人员受伤，车辆已送{shop}定损。",
        "倒车时碰撞{street}路边护栏，后保险杠及尾灯受损，车辆送{shop}维修。",
        "行驶至{street}路口与对向车辆发生碰撞，双方车辆受损，交警认定对方主责，已至{shop}定损。",
    ),
    L.GLASS: ("高速行驶中被飞石击中，前挡风玻璃出现裂纹，已在{shop}更换。",),
    L.THEFT: ("车辆停放于{street}附近小区停车场，次日发现被盗，已向公安机关报案。",),
    L.NATURAL_DISASTER: (
        "暴雨导致{street}路段积水，车辆涉水熄火，发动机进水，拖至{shop}检修。",
        "台风期间车辆被倒伏树木砸中，车顶及前挡风玻璃受损，送{shop}维修。",
    ),
    L.FIRE: (
        "车辆行驶中发动机舱起火，经消防扑救后车辆严重受损。",
        "住宅厨房电器短路起火，厨房及客厅装修烧毁。",
        "仓库电线老化引发火灾，部分库存商品及货架烧毁。",
    ),
    L.THIRD_PARTY: (
        "在{street}变道时与电动自行车发生碰撞，对方骑车人受伤送{hospital}治疗，本车负全责。",
        "停车时刮蹭相邻车辆，对方车辆左侧车门受损，本车负全责。",
    ),
    L.OUTPATIENT: ("因急性肠胃炎在{hospital}急诊就诊，门诊治疗及药费。", "因上呼吸道感染在{hospital}门诊就诊。"),
    L.HOSPITALIZATION: (
        "因急性阑尾炎在{hospital}住院手术治疗{days}天。",
        "因肺炎在{hospital}住院治疗{days}天。",
        "因腰椎间盘突出在{hospital}住院治疗{days}天。",
    ),
    L.CRITICAL_ILLNESS: (
        "经{hospital}确诊为恶性肿瘤（甲状腺癌），申请重大疾病保险金。",
        "经{hospital}确诊为急性心肌梗死，行介入治疗。",
        "经{hospital}确诊为脑中风后遗症。",
    ),
    L.DEATH: ("被保险人因交通事故不幸身故，受益人申请身故保险金。", "被保险人因疾病在{hospital}抢救无效身故。"),
    L.DISABILITY: ("被保险人意外摔伤致右腿骨折，经{hospital}鉴定为伤残。",),
    L.ACCIDENTAL_INJURY: (
        "下楼时不慎摔倒致左踝扭伤，在{hospital}治疗。",
        "运动时意外受伤，在{hospital}就诊并拍片检查。",
        "旅行途中意外摔伤，在当地医院就诊。",
    ),
    L.WATER_DAMAGE: (
        "楼上住户水管爆裂，导致本户客厅吊顶及木地板泡水受损。",
        "暴雨渗漏导致卧室墙面及家具受损。",
        "店铺水管爆裂，部分商品及装修受损。",
    ),
    L.BURGLARY: (
        "家中被盗，门锁被撬，丢失笔记本电脑及首饰，已向公安机关报案。",
        "营业场所夜间被盗，丢失现金及货品，已报警。",
    ),
    L.TRIP_DELAY: ("{airport}航班因天气原因延误{hours}小时。", "航班取消，改签次日航班，延误{hours}小时。"),
    L.BAGGAGE: ("在{foreign}转机时托运行李丢失，航空公司已出具行李丢失证明。",),
    L.MEDICAL_ABROAD: (
        "在{foreign}旅行期间突发急性肠胃炎，在当地医院就诊。",
        "在{foreign}旅行期间摔伤，当地医院急诊治疗。",
    ),
}
DENIAL_NOTES: dict[str, str] = {
    R.NOT_COVERED: "经审核，本次损失不属于保险合同约定的保险责任范围，依据条款不予赔付。",
    R.OUTSIDE_PERIOD: "经核实，出险时间不在保险期间内，依据保险合同约定不予赔付。",
    R.EXCLUSION: "经调查，本次事故属于保险合同责任免除情形，不予赔付。",
    R.WAITING_PERIOD: "经核实，疾病确诊时间在合同约定的等待期内，依据条款不予赔付，已退还所交保险费。",
    R.MISREPRESENTATION: "经调查，投保时未如实告知既往病史，足以影响承保决定，依据保险法第十六条不予赔付。",
    R.NO_INSURABLE_LOSS: "经查勘，未发现保险标的存在约定范围内的损失，不予赔付。",
    R.DUPLICATE: "本次申请与已结案件为同一事故，属重复报案，不予重复赔付。",
    R.BELOW_DEDUCTIBLE: "经核定，损失金额未超过合同约定的免赔额，不予赔付。",
}
DENIAL_REASONS: dict[str, tuple[str, ...]] = {
    LOB.MOTOR: (R.EXCLUSION, R.NO_INSURABLE_LOSS, R.DUPLICATE),
    LOB.HEALTH: (R.EXCLUSION, R.WAITING_PERIOD, R.MISREPRESENTATION, R.DUPLICATE),
    LOB.ACCIDENT: (R.EXCLUSION, R.NO_INSURABLE_LOSS),
    LOB.PROPERTY: (R.EXCLUSION, R.NO_INSURABLE_LOSS, R.BELOW_DEDUCTIBLE),
    LOB.LIFE: (R.WAITING_PERIOD, R.MISREPRESENTATION, R.EXCLUSION),
    LOB.TRAVEL: (R.EXCLUSION, R.NO_INSURABLE_LOSS, R.DUPLICATE),
}
PARTIAL_REASONS: dict[str, tuple[str, ...]] = {
    LOB.MOTOR: (R.DEPRECIATION, R.NON_COVERED_ITEMS),
    LOB.HEALTH: (R.NON_COVERED_ITEMS, R.CO_PAYMENT),
    LOB.ACCIDENT: (R.NON_COVERED_ITEMS, R.CO_PAYMENT),
    LOB.PROPERTY: (R.DEPRECIATION, R.NON_COVERED_ITEMS),
    LOB.LIFE: (R.NON_COVERED_ITEMS,),
    LOB.TRAVEL: (R.NON_COVERED_ITEMS, R.DEPRECIATION),
}
PARTIAL_NOTE = "经核定，部分项目不属于保险责任或需按约定比例扣减，其余部分予以赔付。"
APPROVE_NOTE = "资料齐全，责任明确，同意按核定金额赔付。"
REOPEN_NOTE = "客户提交补充材料（新的医疗费用票据），申请重新审核。"
DOCS_NOTE = "请一次性补充以下材料，材料齐全后我们将尽快处理。"
WITHDRAW_NOTE = "客户来电表示损失已自行处理，申请撤销报案。"

# Documents by line: what comes with the report, what a missing-documents request asks for, and the
# kinds that are photos (JPEG) or screenshots (PNG); the rest are PDF scans.
DOCS_AT_REPORT: dict[str, tuple[str, ...]] = {
    LOB.MOTOR: (D.DAMAGE_PHOTO, D.DAMAGE_PHOTO, D.DRIVING_LICENSE, D.VEHICLE_LICENSE),
    LOB.HEALTH: (D.INVOICE, D.MEDICAL_RECORD, D.ID_CARD),
    LOB.ACCIDENT: (D.MEDICAL_RECORD, D.INVOICE, D.ID_CARD),
    LOB.PROPERTY: (D.DAMAGE_PHOTO, D.DAMAGE_PHOTO, D.CLAIM_FORM),
    LOB.LIFE: (D.CLAIM_FORM, D.ID_CARD, D.MEDICAL_RECORD),
    LOB.TRAVEL: (D.TRAVEL_PROOF, D.INVOICE, D.ID_CARD),
}
DOCS_REQUESTED: dict[str, tuple[str, ...]] = {
    LOB.MOTOR: (D.POLICE_REPORT, D.REPAIR_ESTIMATE, D.INVOICE),
    LOB.HEALTH: (D.DISCHARGE_SUMMARY, D.INVOICE, D.BANK_CARD),
    LOB.ACCIDENT: (D.DISCHARGE_SUMMARY, D.POLICE_REPORT, D.BANK_CARD),
    LOB.PROPERTY: (D.POLICE_REPORT, D.INVOICE, D.REPAIR_ESTIMATE),
    LOB.LIFE: (D.DEATH_CERTIFICATE, D.DISCHARGE_SUMMARY, D.BANK_CARD),
    LOB.TRAVEL: (D.MEDICAL_RECORD, D.OTHER, D.BANK_CARD),
}
PHOTO_TYPES = frozenset({D.DAMAGE_PHOTO, D.ID_CARD, D.DRIVING_LICENSE, D.VEHICLE_LICENSE, D.BANK_CARD})
SCREENSHOT_TYPES = frozenset({D.TRAVEL_PROOF})
DOC_NAMES: dict[str, str] = {
    D.ID_CARD: "身份证",
    D.CLAIM_FORM: "理赔申请书",
    D.MEDICAL_RECORD: "病历",
    D.INVOICE: "发票",
    D.DISCHARGE_SUMMARY: "出院小结",
    D.POLICE_REPORT: "事故认定书",
    D.DRIVING_LICENSE: "驾驶证",
    D.VEHICLE_LICENSE: "行驶证",
    D.DAMAGE_PHOTO: "现场照片",
    D.REPAIR_ESTIMATE: "维修估价单",
    D.BANK_CARD: "银行卡",
    D.DEATH_CERTIFICATE: "死亡证明",
    D.TRAVEL_PROOF: "行程单",
    D.OTHER: "航空公司证明",
}
