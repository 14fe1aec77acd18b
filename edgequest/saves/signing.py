"""Signed saves for lab servers: an HMAC-SHA256 over a save's canonical bytes.

When the game runs with a key the player cannot read (``EDGEQUEST_SIGNING_KEY_FILE``,
set up by the instructor; see docs/instructors.md), every write carries::

    "signature": {"alg": "hmac-sha256", "key_id": "<first 16 hex of SHA-256(key)>", "mac": "<64 hex>"}

The MAC covers everything a grader reads: the format and versions, the mission id and
hash, the player, the two times and the whole record (moves and move times), as JSON
with sorted keys and no spaces. The ``display`` cache and the signature itself are left
out. ``edgequest grade --signing-key FILE`` checks it; ``--require-signature`` makes an
unsigned save "not gradable".

What a valid MAC proves: the bytes were written by a process that held the key and were
not changed since. It proves nothing about *who* typed the moves, and nothing at all if
the player can read the key (then they can sign anything).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
from pathlib import Path
from typing import Any, Mapping

from edgequest.errors import SaveError

ALGORITHM = "hmac-sha256"
KEY_ENV = "EDGEQUEST_SIGNING_KEY_FILE"
MIN_KEY_BYTES = 16
MAX_KEY_BYTES = 4096
_UNSIGNED = ("display", "signature")


def canonical_bytes(save_dict: Mapping[str, Any]) -> bytes:
    """The bytes a signature covers: the save's JSON without ``display`` and ``signature``."""
    body = {k: v for k, v in save_dict.items() if k not in _UNSIGNED}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]


def sign(key: bytes, save_dict: Mapping[str, Any]) -> dict[str, str]:
    """The ``signature`` table for a save's dictionary (as :meth:`SaveData.to_dict` gives it)."""
    mac = hmac.new(key, canonical_bytes(save_dict), hashlib.sha256).hexdigest()
    return {"alg": ALGORITHM, "key_id": key_id(key), "mac": mac}


def check_signature_shape(value: Any, where: str) -> dict[str, str]:
    """A signature table as read from a file; raise :class:`SaveError` when it is malformed."""
    if not isinstance(value, dict) or set(value) != {"alg", "key_id", "mac"}:
        raise SaveError(f"{where}: expected {{\"alg\", \"key_id\", \"mac\"}}, found {str(value)[:60]!r}")
    if value["alg"] != ALGORITHM:
        raise SaveError(f"{where}.alg: expected {ALGORITHM!r}, found {str(value['alg'])[:30]!r}")
    for name, size in (("key_id", 16), ("mac", 64)):
        text = value[name]
        if not isinstance(text, str) or len(text) != size or any(c not in "0123456789abcdef" for c in text):
            raise SaveError(f"{where}.{name}: expected {size} hex digits, found {str(text)[:70]!r}")
    return dict(value)


def verify(key: bytes, save_dict: Mapping[str, Any], signature: Mapping[str, str] | None) -> str | None:
    """None when ``signature`` is this key's MAC of the save; otherwise what is wrong."""
    if signature is None:
        return "the save is not signed (it was not written by the game on the lab server)"
    if signature.get("key_id") != key_id(key):
        return (f"the save is signed with another key (key id {signature.get('key_id')}, "
                f"expected {key_id(key)})")
    expected = hmac.new(key, canonical_bytes(save_dict), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, str(signature.get("mac", ""))):
        return "the signature does not match: the save was changed after the game wrote it"
    return None


def read_key(path: Path, what: str = "signing key") -> bytes:
    """A key file's bytes (surrounding whitespace removed); :class:`SaveError` says what is wrong."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise SaveError(f"{what} {path}: cannot be read ({exc.strerror or exc})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SaveError(f"{what} {path}: is not a regular file")
        key = os.read(fd, MAX_KEY_BYTES + 1).strip()
    except OSError as exc:
        raise SaveError(f"{what} {path}: cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise SaveError(f"{what} {path}: expected {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes of secret, found {len(key)}")
    return key


def key_from_environment(environ: Mapping[str, str] = os.environ) -> bytes | None:
    """The game's signing key when ``EDGEQUEST_SIGNING_KEY_FILE`` names one, else None."""
    path = environ.get(KEY_ENV)
    return read_key(Path(path), f"${KEY_ENV}") if path else None
