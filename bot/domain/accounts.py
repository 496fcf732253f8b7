"""Console accounts: roles, password hashes (argon2), sign-in with lock-out, web sessions.

A user name locks for LOCK_MINUTES once LOCK_AFTER wrong passwords came within LOCK_MINUTES;
while locked even the right password is refused, and refused tries are not counted (a locked
name cannot be kept locked forever by a stranger's script beyond the window of its last five).
Session cookies carry a random token; the database keeps only its SHA-256.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Config
from storage import console as console_store
from storage.models import ConsoleUser, WebSession

ROLES = ("operator", "leader", "agency")
LOCK_AFTER = 5
LOCK_MINUTES = 15
SESSION_HOURS = 12
MIN_PASSWORD = 8
NAME_LIMIT = 64

_hasher = PasswordHasher()


class AccountError(Exception):
    """Bad input for an account; `reason` is a stable code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Role:
    """A console role, with the agency for agency staff."""

    name: str
    agency_id: str | None = None


def parse_role(text: str, config: Config) -> Role:
    """Read `operator`, `leader` or `agency:AGENCY_ID` (the agency must be in the directory)."""
    name, _, agency_id = text.strip().partition(":")
    if name not in ROLES or (name == "agency") != bool(agency_id):
        raise AccountError("bad_role", text)
    if name == "agency" and config.agency(agency_id) is None:
        raise AccountError("unknown_agency", agency_id)
    return Role(name, agency_id or None)


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return _hasher.hash(password)


def password_matches(stored: str, password: str) -> bool:
    """Tell whether the password matches the stored hash."""
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    """Return the stored form of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


async def add_user(
    *, session: AsyncSession, config: Config, name: str, role: str, password: str, now: datetime
) -> ConsoleUser:
    """Create a console user; refuse a bad name, role or short password, or a taken name."""
    name = name.strip()
    if not name or len(name) > NAME_LIMIT or any(c.isspace() for c in name):
        raise AccountError("bad_name", name)
    parsed = parse_role(role, config)
    if len(password) < MIN_PASSWORD:
        raise AccountError("short_password", str(MIN_PASSWORD))
    if await console_store.get_user_by_name(session=session, name=name) is not None:
        raise AccountError("name_taken", name)
    user = ConsoleUser(
        name=name,
        role=parsed.name,
        agency_id=parsed.agency_id,
        password_hash=hash_password(password),
        created_at=now,
    )
    return await console_store.add_user(session=session, user=user)


async def disable_user(*, session: AsyncSession, name: str) -> ConsoleUser:
    """Disable a user and end their sessions."""
    user = await console_store.get_user_by_name(session=session, name=name)
    if user is None:
        raise AccountError("unknown_user", name)
    user.disabled = True
    session.add(user)
    assert user.id is not None
    await console_store.drop_user_sessions(session=session, user_id=user.id)
    return user


def locked_until(failures: list[datetime], now: datetime) -> datetime | None:
    """Return until when a name is locked, given its wrong passwords of the last window."""
    window = timedelta(minutes=LOCK_MINUTES)
    recent = [at for at in failures if at > now - window]
    if len(recent) < LOCK_AFTER:
        return None
    return recent[LOCK_AFTER - 1] + window


@dataclass(frozen=True)
class SignIn:
    """The result of a sign-in: the new session's token and user, or why not."""

    token: str | None = None
    user: ConsoleUser | None = None
    web_session: WebSession | None = None
    refused: str = ""  # bad_login, locked
    locked_until: datetime | None = None


async def sign_in(
    *, session: AsyncSession, name: str, password: str, language: str, now: datetime
) -> SignIn:
    """Check the password (with the lock-out) and open a session."""
    name = name.strip()[:NAME_LIMIT]
    since = now - timedelta(minutes=LOCK_MINUTES)
    failures = await console_store.failures_since(session=session, name=name, since=since)
    until = locked_until(failures, now)
    if until is not None:
        return SignIn(refused="locked", locked_until=until)
    user = await console_store.get_user_by_name(session=session, name=name)
    good = user is not None and password_matches(user.password_hash, password)
    if user is None:
        _hasher.hash(password)  # as slow as a real check: timing does not tell names apart
    if user is None or not good or user.disabled:
        await console_store.add_failure(session=session, name=name, now=now)
        until = locked_until([*failures, now], now)
        return SignIn(refused="locked" if until else "bad_login", locked_until=until)
    await console_store.clear_failures(session=session, name=name)
    assert user.id is not None
    token = secrets.token_urlsafe(32)
    web_session = WebSession(
        token_hash=token_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(24),
        language=language,
        created_at=now,
        expires_at=now + timedelta(hours=SESSION_HOURS),
    )
    await console_store.add_session(session=session, web_session=web_session)
    return SignIn(token=token, user=user, web_session=web_session)
