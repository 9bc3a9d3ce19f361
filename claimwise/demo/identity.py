"""Identity data for the demo generator: names, PRC resident ID numbers, mobile numbers, addresses,
licence plates, VINs and bank accounts. Everything is drawn from a caller-owned `random.Random`, so a
seed reproduces the same people.

ID numbers (GB 11643) are built from python-stdnum's own `cn/loc` region table, only with region
codes that were in use in the person's birth year (the rule `stdnum.cn.ric.validate` applies), and
end with the ISO 7064 check character; they are correct by construction and the tests validate
every one of them with stdnum.
"""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

from stdnum import numdb
from stdnum.cn import ric

from claimwise.demo.data import (
    BANKS,
    COMPOUND_NAMES,
    COMPOUNDS,
    GIVEN_FEMALE,
    GIVEN_MALE,
    PLATE_ABBR,
    STREETS,
    SURNAMES,
    VEHICLES,
    BranchSpec,
    City,
)

# Mainland mobile prefixes (three digits) phonenumbers accepts in full, weighted by how common they are.
MOBILE_PREFIXES = (
    ("130", 4),
    ("131", 4),
    ("132", 3),
    ("133", 3),
    ("134", 3),
    ("135", 6),
    ("136", 6),
    ("137", 6),
    ("138", 8),
    ("139", 8),
    ("150", 4),
    ("151", 4),
    ("152", 4),
    ("153", 2),
    ("155", 3),
    ("156", 3),
    ("157", 3),
    ("158", 4),
    ("159", 4),
    ("166", 1),
    ("173", 1),
    ("176", 1),
    ("177", 2),
    ("178", 1),
    ("180", 2),
    ("181", 2),
    ("182", 3),
    ("183", 2),
    ("185", 2),
    ("186", 4),
    ("187", 3),
    ("188", 3),
    ("189", 3),
    ("191", 1),
    ("198", 1),
    ("199", 2),
)
_MOBILE_CUM = [sum(w for _p, w in MOBILE_PREFIXES[: i + 1]) for i in range(len(MOBILE_PREFIXES))]
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I and O on plates
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # no I, O, Q
_VIN_VALUES = dict(
    zip("ABCDEFGHJKLMNPRSTUVWXYZ", [1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9], strict=True)
)
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN_YEARS = "ABCDEFGHJKLMNPRSTVWXY123456789"  # model year code, A = 1980 and again 2010
T = TypeVar("T")
_SKIP_NAMES = frozenset({"市辖区", "县", "郊区", "市区", "矿区"})  # placeholders, not places


def below(rng: random.Random, n: int) -> int:
    """`rng.randrange(n)` at a fraction of the cost (plenty uniform for demo data)."""
    return int(rng.random() * n)


def one(rng: random.Random, items: Sequence[T]) -> T:
    """`rng.choice(items)`, cheaper."""
    return items[int(rng.random() * len(items))]


@dataclass(frozen=True)
class County:
    code: str  # six digits
    name: str  # the name in use today ("" when abolished)
    ranges: tuple[tuple[int, int], ...]  # years the code was assigned; (0, 9999) for always

    def valid_in(self, year: int) -> bool:
        return any(start <= year <= end for start, end in self.ranges)


@dataclass(frozen=True)
class Regions:
    provinces: dict[str, str]  # code -> name
    counties: dict[str, tuple[County, ...]]  # province code -> its county-level codes


def _parse_county(text: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    current, ranges = "", []
    for part in text.split(","):
        if not part.startswith("["):
            ranges.append((0, 9999))
            current = part
            continue
        span, name = part[1:].split("]")
        start, end = span.split("-")
        ranges.append((int(start or 0), int(end or 9999)))
        if not end:
            current = name
    return current, tuple(ranges)


@cache
def regions() -> Regions:
    """Province and county codes from stdnum's numdb `cn/loc` (the table `ric.validate` checks)."""
    provinces: dict[str, str] = {}
    counties: dict[str, tuple[County, ...]] = {}
    for length, low, _high, props, children in numdb.get("cn/loc").prefixes:
        if length != 2 or low not in PLATE_ABBR:  # mainland provinces only
            continue
        provinces[low] = props["province"]
        found = []
        for clen, clow, chigh, cprops, _c in children:
            if clen != 4 or clow != chigh or clow.endswith("00") or "county" not in cprops:
                continue
            name, ranges = _parse_county(cprops["county"])
            if name in _SKIP_NAMES or "直辖" in name:
                continue
            found.append(County(low + clow, name, ranges))
        counties[low] = tuple(found)
    return Regions(provinces, counties)


@cache
def districts(prefecture: str) -> tuple[str, ...]:
    """Today's district and county names of a city (`4403` -> 罗湖区, 福田区, 南山区, ...)."""
    year = dt.date.today().year
    names = [
        c.name for c in regions().counties[prefecture[:2]] if c.code[:4] == prefecture and c.name and c.valid_in(year)
    ]
    if not names:
        raise ValueError(f"numdb has no current districts for {prefecture}")
    return tuple(names)


@cache
def codes_in_use(province: str, year: int) -> tuple[str, ...]:
    """Region codes of a province that were assigned in `year` (Hainan's start in 1988, for one)."""
    return tuple(c.code for c in regions().counties[province] if c.valid_in(year))


def id_number(rng: random.Random, province: str, birth: dt.date, male: bool) -> str:
    """An 18-character resident ID: a region code in use in the birth year (falling back to Beijing
    for a province that did not exist yet), the birth date, an order code whose parity gives the sex
    (odd male, even female) and the check character."""
    codes = codes_in_use(province, birth.year) or codes_in_use("11", birth.year)
    order = (1 + below(rng, 499)) * 2 - (1 if male else 0)  # 001..999, odd for men
    body = f"{codes[below(rng, len(codes))]}{birth:%Y%m%d}{order:03d}"
    return body + ric.calc_check_digit(body + "0")


def person_name(rng: random.Random, male: bool) -> tuple[str, str]:
    """(surname, given name)."""
    pool = GIVEN_MALE if male else GIVEN_FEMALE
    given = pool[below(rng, len(pool))]
    if rng.random() < 0.72:
        given += pool[below(rng, len(pool))]
    return SURNAMES[below(rng, len(SURNAMES))], given


def mobile(rng: random.Random) -> str:
    """E.164, as `policies.validators.clean_mobile` stores it."""
    prefix = MOBILE_PREFIXES[bisect(_MOBILE_CUM, rng.random() * _MOBILE_CUM[-1])][0]
    return f"+86{prefix}{below(rng, 10**8):08d}"


def birth_date(rng: random.Random, today: dt.date, min_age: int = 18, max_age: int = 75) -> dt.date:
    age_days = rng.randint(min_age * 365 + 5, max_age * 365)
    return today - dt.timedelta(days=age_days)


def street_address(rng: random.Random, branch: BranchSpec, city: City) -> str:
    """`广东省深圳市南山区科技路128号锦绣花园3栋1204室` (municipalities without the province)."""
    province = regions().provinces[branch.province]
    head = city.name if province == city.name else province + city.name
    district = one(rng, districts(city.prefecture))
    compound = one(rng, COMPOUND_NAMES) + one(rng, COMPOUNDS)
    return (
        f"{head}{district}{one(rng, STREETS)}{rng.randint(1, 399)}号{compound}"
        f"{rng.randint(1, 30)}栋{rng.randint(1, 33)}{rng.randint(1, 4):02d}室"
    )


def place(rng: random.Random, city: City) -> tuple[str, str]:
    """(district, street) for where something happened in the city."""
    return one(rng, districts(city.prefecture)), one(rng, STREETS)


def plate(rng: random.Random, city: City) -> str:
    """`粤B3K521`: province abbreviation and city letter, then five characters (at most two letters)."""
    chars, letters = [], 0
    for _ in range(5):
        if letters < 2 and rng.random() < 0.15:
            chars.append(PLATE_LETTERS[below(rng, len(PLATE_LETTERS))])
            letters += 1
        else:
            chars.append(str(below(rng, 10)))
    return city.plate[0] + one(rng, city.plate[1:]) + "".join(chars)


def vehicle(rng: random.Random, model_year: int) -> tuple[str, str]:
    """(model, VIN) with a valid VIN check digit (position 9) and model-year code (position 10)."""
    model, wmi = VEHICLES[below(rng, len(VEHICLES))]
    vds = "".join(one(rng, VIN_CHARS) for _ in range(5))
    tail = _VIN_YEARS[(model_year - 1980) % 30] + one(rng, VIN_CHARS[:23]) + f"{below(rng, 10**6):06d}"
    vin = wmi + vds + "0" + tail
    total = sum(
        (int(ch) if ch.isdigit() else _VIN_VALUES[ch]) * weight for ch, weight in zip(vin, _VIN_WEIGHTS, strict=True)
    )
    check = total % 11
    return model, vin[:8] + ("X" if check == 10 else str(check)) + vin[9:]


def vin_is_valid(vin: str) -> bool:
    total = sum(
        (int(ch) if ch.isdigit() else _VIN_VALUES[ch]) * weight for ch, weight in zip(vin, _VIN_WEIGHTS, strict=True)
    )
    check = total % 11
    return vin[8] == ("X" if check == 10 else str(check))


def bank_account(rng: random.Random) -> tuple[str, str]:
    """(bank name, 19-digit card number with a Luhn check digit)."""
    bank, bin_ = BANKS[below(rng, len(BANKS))]
    body = bin_ + f"{below(rng, 10**12):012d}"
    return bank, body + luhn_digit(body)


def luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)
