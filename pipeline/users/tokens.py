"""API tokens: issued once, stored only as a salted slow hash, verified on every HTTP write.

A token is `<user id>.<43 URL-safe characters>`: 32 random bytes from `secrets`, so 256 bits that
nobody can guess; the id prefix is not secret and tells the server whose hash to check, so one
verification costs one hash, not one per user.

Hash: scrypt (hashlib, OpenSSL) with n=2**13, r=8, p=1, a 16-byte random salt and a 32-byte key,
stored as `scrypt$n$r$p$salt$key` (hex) so the parameters can be raised later without breaking
existing tokens. scrypt rather than PBKDF2 because it is memory-hard (8 MiB per evaluation), which
makes guessing from a stolen users topic costly on GPUs too; the parameters are set for a few tens
of milliseconds per verification on one core, as every HTTP write verifies a token. For the same
reason a worker remembers successful verifications for a short time (`TokenVerifier`), keyed by a
SHA-256 of the token, and still checks the user's current record on every request, so a new token,
a revoked one or a disabled user takes effect as soon as the users record is read.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import replace

from .records import User, UserBook

TOKEN_BYTES = 32
SCHEME, SCRYPT_N, SCRYPT_R, SCRYPT_P = "scrypt", 2 ** 13, 8, 1
SALT_BYTES, KEY_BYTES = 16, 32
MAX_TOKEN_CHARS = 100  # an id of 18 digits, a dot and 43 characters fit; longer input is not hashed
AUTH_SCHEME = "Token"  # Lasair's API: `Authorization: Token <token>`


def hash_token(token: str, salt: bytes | None = None, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    key = hashlib.scrypt(token.encode(), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES, maxmem=256 * r * n + 2 ** 20)
    return f"{SCHEME}${n}${r}${p}${salt.hex()}${key.hex()}"


def token_matches(token: str, stored: str) -> bool:
    """Whether `token` hashes to `stored`, compared in constant time; False for a malformed or empty hash."""
    try:
        scheme, n, r, p, salt, _key = stored.split("$")
        if scheme != SCHEME:
            return False
        expected = hash_token(token, bytes.fromhex(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(expected.encode(), stored.encode())


def issue_token(user: User) -> tuple[User, str]:
    """A new token for `user` and the user record holding its hash: publishing that record revokes the old token."""
    token = f"{user.id}.{secrets.token_urlsafe(TOKEN_BYTES)}"
    return replace(user, token_hash=hash_token(token)), token


def revoked(user: User) -> User:
    """The user record with no valid token."""
    return replace(user, token_hash="")


def token_from_header(authorization: str | None) -> str | None:
    """The token of an `Authorization: Token <token>` header, or None if absent or of another form."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == AUTH_SCHEME.lower() and token else None


def token_user_id(token: str) -> int | None:
    """The user id a token names (not proof of anything until its hash is checked)."""
    prefix, dot, rest = token.partition(".")
    if not dot or not rest or not prefix.isascii() or not prefix.isdigit() or len(token) > MAX_TOKEN_CHARS:
        return None
    return int(prefix)


class TokenVerifier:
    """Finds the user of a token, remembering successful checks for `cache_seconds`, at most `max_cached` of them."""

    def __init__(self, book: UserBook, clock: Callable[[], float], cache_seconds: float, max_cached: int = 10_000) -> None:
        self.book = book
        self.clock = clock
        self.cache_seconds = cache_seconds
        self.max_cached = max_cached
        self._verified: dict[bytes, tuple[int, str, float]] = {}  # sha256(token) -> user id, hash checked, until

    def verify(self, token: str | None) -> User | None:
        """The token's user, or None: unknown user, disabled user, revoked or wrong token."""
        user_id = token_user_id(token) if token else None
        user = self.book.get(user_id) if user_id is not None else None
        if token is None or user is None or user.disabled or not user.token_hash:
            return None
        fast = hashlib.sha256(token.encode()).digest()
        now = self.clock()
        cached = self._verified.get(fast)
        if cached is not None and cached[:2] == (user.id, user.token_hash) and now < cached[2]:
            return user
        self._verified.pop(fast, None)
        if not token_matches(token, user.token_hash):
            return None
        if len(self._verified) >= self.max_cached:
            self._verified.pop(next(iter(self._verified)))  # the oldest: dicts keep insertion order
        self._verified[fast] = (user.id, user.token_hash, now + self.cache_seconds)
        return user
