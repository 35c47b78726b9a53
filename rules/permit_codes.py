"""A permit's verification code from its district's key (docs/portal.md "Permit
verification"): the HMAC-SHA-256 of the permit id, cut to 80 bits, in base32 as four groups of
four. Pure, so the portal's check (`app/permit_codes.py`) and the printed permit
(`activities/permit_pdf.py`) make the same code; the key is the records store's."""

from __future__ import annotations

import base64
import hashlib
import hmac

CODE_BYTES = 10  # 80 bits: 16 base32 characters, no padding
GROUP = 4


def key_name(district: str) -> str:
    """The name of the district's key in the records store's secrets (32 random bytes made
    on first use)."""
    return f"permit-codes:{district}"


def raw_code(key: bytes, permit_id: str) -> str:
    """The code as compared: 16 base32 characters, no dashes."""
    digest = hmac.new(key, permit_id.encode(), hashlib.sha256).digest()[:CODE_BYTES]
    return base64.b32encode(digest).decode()


def grouped(code: str) -> str:
    """The code as printed: ``ABCD-EFGH-IJKL-MNOP``."""
    return "-".join(code[i:i + GROUP] for i in range(0, len(code), GROUP))


def printed_code(key: bytes, permit_id: str) -> str:
    return grouped(raw_code(key, permit_id))
