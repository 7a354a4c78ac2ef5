"""API token generation and hashing.

Tokens are 256 random bits (``secrets``), URL-safe, with a ``kp_`` prefix so they are easy to
recognise in configuration and secret scanners. Only their sha256 is stored: with that much
entropy a slow password KDF adds nothing, and lookups stay a single indexed equality.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "kp_"
MAX_TOKEN_CHARS = 200


def generate_token() -> str:
    """A new random API token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """sha256 hex of a token: what the database stores and looks up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(token: str) -> bool:
    """Cheap shape check before touching the database."""
    return bool(token) and len(token) <= MAX_TOKEN_CHARS and token.startswith(TOKEN_PREFIX)


def display_prefix(token: str) -> str:
    """The first characters shown in listings to tell tokens apart."""
    return token[:10]
