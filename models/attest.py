"""The installation's signature: an Ed25519 key that signs what must be provable outside the database (the
audit trail's checkpoints, the backups' manifests).

Ed25519 (`cryptography`, the maintained binding of OpenSSL) rather than an HMAC: the key that signs stays on
the server (a file readable by its owner only, beside the store, never in the database), while its public
half can be handed to an inspector, who then verifies a checkpoint or a backup without being able to forge
one. Whoever edits the database cannot re-sign: a rewritten trail or a tampered archive no longer matches.

A signed document is a JSON object; its signature covers the canonical JSON of every other field (keys
sorted, no spaces, UTF-8), and the document names the key that signed it by its fingerprint (the SHA-256
of the raw public key) — a verifier trusts a key it was given, never the one a document carries.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cchc.models.secretfile import keep_new

SIGNATURE = "signature"
KEY = "key"
PUBLIC_PREFIX = "ed25519:"


class SignatureError(ValueError):
    """A document whose signature is missing, malformed, by another key, or does not match its content."""


def canonical(document: dict[str, Any]) -> bytes:
    """What a signature covers: the document without its signature, as canonical JSON."""
    body = {k: v for k, v in document.items() if k != SIGNATURE}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def load_or_create(path: Path, *, create: bool) -> Ed25519PrivateKey:
    """The signing key kept in `path` (PEM, PKCS#8); with `create`, a new one is made (mode 0600) when there
    is none yet. A ValueError names the file when it cannot be read."""
    if create:
        try:
            keep_new(
                path,
                lambda: Ed25519PrivateKey.generate().private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                ),
            )
        except OSError as exc:
            raise ValueError(f"cannot keep the signing key {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise ValueError(f"there is no signing key in {path}") from None
    except OSError as exc:
        raise ValueError(f"cannot read the signing key {path}: {exc.strerror}") from None
    except (ValueError, TypeError):
        raise ValueError(f"{path} is not an Ed25519 signing key (PEM)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 signing key (PEM)")
    return key


def public_text(key: Ed25519PublicKey) -> str:
    """A public key as one line that can be printed, mailed and given back: `ed25519:BASE64`."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return PUBLIC_PREFIX + base64.b64encode(raw).decode("ascii")


def fingerprint(key: Ed25519PublicKey) -> str:
    """The full SHA-256 (hex) of the raw public key: how a document names the key that signed it."""
    return hashlib.sha256(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).hexdigest()


def parse_public(text: str) -> Ed25519PublicKey:
    """A public key from its one-line form (`ed25519:BASE64`), or from a PEM public key."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode("ascii"))
        except (ValueError, UnicodeError):
            raise ValueError("not a PEM public key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key
    if not text.startswith(PUBLIC_PREFIX):
        raise ValueError(f"a public key is written {PUBLIC_PREFIX}BASE64 (as `cchc audit key` prints it)")
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text[len(PUBLIC_PREFIX) :], validate=True))
    except ValueError:
        raise ValueError("not an Ed25519 public key") from None


def signed(document: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """The document with the key's fingerprint and its signature."""
    body = {**{k: v for k, v in document.items() if k != SIGNATURE}, KEY: fingerprint(key.public_key())}
    return {**body, SIGNATURE: base64.b64encode(key.sign(canonical(body))).decode("ascii")}


def check(document: dict[str, Any], trusted: Ed25519PublicKey) -> None:
    """Nothing when `trusted` signed exactly this document; a SignatureError saying what is wrong otherwise."""
    signature = document.get(SIGNATURE)
    if not isinstance(signature, str) or not signature:
        raise SignatureError("it is not signed")
    if document.get(KEY) != fingerprint(trusted):
        raise SignatureError(
            f"it was signed by the key {str(document.get(KEY))[:16]}…, "
            f"not by the trusted key {fingerprint(trusted)[:16]}…"
        )
    try:
        trusted.verify(base64.b64decode(signature, validate=True), canonical(document))
    except (InvalidSignature, ValueError):
        raise SignatureError("its signature does not match its content: it was altered after it was signed") from None
