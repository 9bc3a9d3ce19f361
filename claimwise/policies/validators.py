"""Identity data validated by the libraries that know the rules, not by regexes."""

from __future__ import annotations

import datetime as dt

import phonenumbers
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError


def clean_id_number(value: str) -> tuple[str, dt.date, str]:
    """PRC resident ID (GB 11643): returns (compact number, birth date, gender M/F)."""
    invalid = _("This is not a valid resident ID number (check the digits and the final check character).")
    try:
        number = ric.validate(value)
    except StdnumError as exc:
        raise ValueError(invalid) from exc
    birth_date = ric.get_birth_date(number)
    if birth_date > timezone.localdate():  # stdnum checks that the birth date exists, not that it has passed
        raise ValueError(invalid)
    gender = "M" if int(number[16]) % 2 else "F"
    return number, birth_date, gender


def clean_mobile(value: str, region: str = "CN") -> str:
    """Returns E.164 (`+8613812345678`)."""
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(_("This is not a phone number.")) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(_("This phone number does not exist; check the digits."))
    if phonenumbers.number_type(parsed) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise ValueError(_("Please give a mobile phone number."))
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
