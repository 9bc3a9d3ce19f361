"""The gateway signature (no Django imports: gateways and test servers use it as is).

X-Claimwise-Timestamp: <Unix time, seconds>
X-Claimwise-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Claimwise-Signature"
TIMESTAMP_HEADER = "X-Claimwise-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value: HMAC-SHA256 over the timestamp, a dot and the raw body."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, tolerance: float = 300) -> bool:
    """For gateways (and tests): the signature matches and the timestamp is within `tolerance`
    seconds of now (a replayed old request is refused)."""
    try:
        fresh = abs(time.time() - int(timestamp)) <= tolerance
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)
