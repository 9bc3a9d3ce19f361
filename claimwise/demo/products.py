"""Products with their coverages (limits, deductibles, the loss types they cover), how often each
line and loss type is claimed, and the amounts claimed: the insurance side of the demo data."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from claimwise.claims.choices import LossType as L
from claimwise.core.choices import LineOfBusiness as LOB

# --- products -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageSpec:
    code: str
    name: str
    limit: Decimal
    deductible: Decimal
    loss_types: tuple[str, ...]


@dataclass(frozen=True)
class ProductSpec:
    code: str
    name: str
    line: str
    description: str
    weight: int  # within its line
    coverages: tuple[CoverageSpec, ...]
    loss_weights: dict[str, int]
    sum_insured: tuple[int, ...]  # choices; motor values are drawn around the first one instead
    premium_rate: tuple[float, float]
    term: str = "annual"  # annual | life | trip
    uncovered: tuple[str, ...] = ()  # loss types claimants report that this product does not cover


def _c(code: str, name: str, limit: int, deductible: int, *loss: str) -> CoverageSpec:
    return CoverageSpec(code, name, Decimal(limit), Decimal(deductible), tuple(loss))


PRODUCTS: tuple[ProductSpec, ...] = (
    ProductSpec(
        "MOTOR-COMM",
        "机动车商业保险（综合改革示范条款）",
        LOB.MOTOR,
        "车损险（含盗抢、玻璃、自然灾害）与第三者责任险",
        80,
        (
            _c("TPL", "第三者责任保险", 1_000_000, 0, L.THIRD_PARTY),
            _c("VD", "机动车损失保险", 800_000, 0, L.COLLISION, L.GLASS, L.THEFT, L.NATURAL_DISASTER, L.FIRE),
        ),
        {L.COLLISION: 60, L.GLASS: 10, L.THEFT: 2, L.NATURAL_DISASTER: 6, L.FIRE: 1, L.THIRD_PARTY: 21},
        (150_000,),
        (0.018, 0.03),
    ),
    ProductSpec(
        "MOTOR-CTPL",
        "机动车交通事故责任强制保险",
        LOB.MOTOR,
        "交强险：死亡伤残、医疗费用与财产损失赔偿",
        20,
        (_c("CTPL", "交强险责任限额", 200_000, 0, L.THIRD_PARTY),),
        {L.THIRD_PARTY: 100},
        (200_000,),
        (0.00475, 0.00475),
        uncovered=(L.COLLISION,),
    ),
    ProductSpec(
        "HEALTH-GRP",
        "团体补充医疗保险",
        LOB.HEALTH,
        "门急诊与住院医疗费用补充报销",
        70,
        (_c("HOSP", "住院医疗", 100_000, 0, L.HOSPITALIZATION), _c("OUT", "门急诊医疗", 20_000, 100, L.OUTPATIENT)),
        {L.OUTPATIENT: 55, L.HOSPITALIZATION: 45},
        (100_000,),
        (0.008, 0.015),
        uncovered=(L.CRITICAL_ILLNESS,),
    ),
    ProductSpec(
        "HEALTH-MLN",
        "百万医疗保险",
        LOB.HEALTH,
        "一般住院医疗（年免赔额1万元）与重大疾病医疗",
        30,
        (
            _c("CI", "重大疾病医疗", 4_000_000, 0, L.CRITICAL_ILLNESS),
            _c("HOSP", "一般住院医疗", 2_000_000, 10_000, L.HOSPITALIZATION),
        ),
        {L.HOSPITALIZATION: 85, L.CRITICAL_ILLNESS: 15},
        (2_000_000,),
        (0.0002, 0.0006),
        uncovered=(L.OUTPATIENT,),
    ),
    ProductSpec(
        "ACC-PA",
        "个人综合意外伤害保险",
        LOB.ACCIDENT,
        "意外身故、伤残与意外医疗",
        100,
        (
            _c("DEATH", "意外身故及伤残", 1_000_000, 0, L.DEATH, L.DISABILITY),
            _c("MED", "意外医疗", 50_000, 100, L.ACCIDENTAL_INJURY),
        ),
        {L.ACCIDENTAL_INJURY: 85, L.DISABILITY: 10, L.DEATH: 5},
        (100_000, 200_000, 300_000, 500_000),
        (0.001, 0.002),
        uncovered=(L.HOSPITALIZATION,),
    ),
    ProductSpec(
        "PROP-HOME",
        "家庭财产综合保险",
        LOB.PROPERTY,
        "房屋主体、装修及室内财产",
        80,
        (
            _c("BLD", "房屋及装修损失", 1_000_000, 500, L.FIRE, L.NATURAL_DISASTER, L.WATER_DAMAGE),
            _c("CNT", "室内财产盗抢", 100_000, 300, L.BURGLARY),
        ),
        {L.WATER_DAMAGE: 50, L.BURGLARY: 20, L.FIRE: 10, L.NATURAL_DISASTER: 20},
        (300_000, 500_000, 800_000, 1_000_000),
        (0.0008, 0.0015),
        uncovered=(L.THEFT,),
    ),
    ProductSpec(
        "PROP-SME",
        "小微企业财产一切险",
        LOB.PROPERTY,
        "营业场所财产的火灾、自然灾害、水渍与盗抢损失",
        20,
        (_c("ALL", "财产一切险", 5_000_000, 2_000, L.FIRE, L.NATURAL_DISASTER, L.WATER_DAMAGE, L.BURGLARY),),
        {L.FIRE: 25, L.NATURAL_DISASTER: 30, L.WATER_DAMAGE: 30, L.BURGLARY: 15},
        (1_000_000, 2_000_000, 3_000_000, 5_000_000),
        (0.001, 0.002),
    ),
    ProductSpec(
        "LIFE-CI",
        "重大疾病保险",
        LOB.LIFE,
        "确诊合同约定的重大疾病给付保险金，身故给付保险金",
        65,
        (_c("CI", "重大疾病保险金", 500_000, 0, L.CRITICAL_ILLNESS), _c("DEATH", "身故保险金", 500_000, 0, L.DEATH)),
        {L.CRITICAL_ILLNESS: 85, L.DEATH: 15},
        (100_000, 150_000, 200_000, 300_000, 400_000, 500_000),
        (0.03, 0.06),
        term="life",
    ),
    ProductSpec(
        "LIFE-TERM",
        "定期寿险",
        LOB.LIFE,
        "保险期间内身故或全残给付保险金",
        35,
        (_c("DEATH", "身故及全残保险金", 500_000, 0, L.DEATH, L.DISABILITY),),
        {L.DEATH: 70, L.DISABILITY: 30},
        (100_000, 200_000, 300_000, 500_000),
        (0.002, 0.005),
        term="life",
        uncovered=(L.CRITICAL_ILLNESS,),
    ),
    ProductSpec(
        "TRAVEL-INTL",
        "境外旅行保险",
        LOB.TRAVEL,
        "境外医疗、意外、旅行延误与行李损失",
        100,
        (
            _c("ACC", "境外意外伤害", 500_000, 0, L.ACCIDENTAL_INJURY),
            _c("BAG", "行李及随身物品损失", 8_000, 200, L.BAGGAGE),
            _c("DELAY", "旅行延误", 3_000, 0, L.TRIP_DELAY),
            _c("MED", "境外医疗", 500_000, 0, L.MEDICAL_ABROAD),
        ),
        {L.MEDICAL_ABROAD: 40, L.TRIP_DELAY: 35, L.BAGGAGE: 20, L.ACCIDENTAL_INJURY: 5},
        (300_000, 500_000),
        (0.0003, 0.0008),
        term="trip",
    ),
)
LINE_WEIGHTS: dict[str, int] = {
    LOB.MOTOR: 40,
    LOB.HEALTH: 28,
    LOB.ACCIDENT: 10,
    LOB.PROPERTY: 8,
    LOB.LIFE: 6,
    LOB.TRAVEL: 8,
}

# Claimed amounts in CNY: ("ln", median, sigma) is log-normal; ("si", low, high) is a share of the sum
# insured (lump-sum benefits: 100% for death and critical illness, a disability grade otherwise);
# ("fix", a, b, ...) is one of fixed benefits (flight delay).
AMOUNTS: dict[tuple[str, str], tuple] = {
    ("", L.COLLISION): ("ln", 6_000, 0.9),
    ("", L.GLASS): ("ln", 1_800, 0.5),
    ("", L.THEFT): ("si", 0.6, 0.95),
    ("", L.FIRE): ("ln", 40_000, 1.1),
    ("", L.NATURAL_DISASTER): ("ln", 18_000, 1.0),
    ("", L.THIRD_PARTY): ("ln", 12_000, 1.2),
    ("", L.OUTPATIENT): ("ln", 900, 0.8),
    ("", L.HOSPITALIZATION): ("ln", 9_000, 0.9),
    ("HEALTH-MLN", L.HOSPITALIZATION): ("ln", 42_000, 0.8),
    ("HEALTH-MLN", L.CRITICAL_ILLNESS): ("ln", 120_000, 0.7),
    ("", L.CRITICAL_ILLNESS): ("si", 1.0, 1.0),
    ("", L.DEATH): ("si", 1.0, 1.0),
    ("", L.DISABILITY): ("si", 0.1, 1.0),
    ("", L.ACCIDENTAL_INJURY): ("ln", 3_500, 1.0),
    ("TRAVEL-INTL", L.ACCIDENTAL_INJURY): ("ln", 8_000, 1.0),
    ("", L.WATER_DAMAGE): ("ln", 6_000, 0.9),
    ("", L.BURGLARY): ("ln", 12_000, 1.0),
    ("PROP-SME", L.FIRE): ("ln", 150_000, 1.2),
    ("", L.TRIP_DELAY): ("fix", 200, 300, 600, 800, 1_000),
    ("", L.BAGGAGE): ("ln", 2_500, 0.6),
    ("", L.MEDICAL_ABROAD): ("ln", 6_000, 1.1),
}
# Days from the event to the report (median, sigma): motor is reported at once, health after discharge.
REPORT_DELAY_HOURS: dict[str, tuple[float, float]] = {
    LOB.MOTOR: (3, 1.2),
    LOB.HEALTH: (36, 1.0),
    LOB.ACCIDENT: (20, 1.1),
    LOB.PROPERTY: (10, 1.1),
    LOB.LIFE: (240, 0.8),
    LOB.TRAVEL: (72, 0.9),
}
LUMP_SUM = frozenset({L.DEATH, L.DISABILITY})  # plus critical illness on life products
