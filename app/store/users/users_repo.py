"""Program users of the practice and signing in.

Users are synced practice data (models.User): made on one PC, they sign in on every PC
after a sync, and offline with the password last synced. Only an administrator manages
them; nobody is ever deleted (records keep their author): a user is disabled instead.
"""

from __future__ import annotations

import builtins
import contextlib
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.store.db import Database
from app.store.dto import MergedUser, UserRow, Viewer
from app.store.errors import NotFoundError, PermissionDeniedError, StoreError
from app.store.models import User
from app.store.sync.outbox import utc_now_text
from app.store.users.users_merge import alias_map

_hasher = PasswordHasher()
MIN_PASSWORD = 8
_USERNAME = re.compile(r"^[\w.\-@]{2,100}$")
ROLES = ("admin", "member")


class UserError(StoreError):
    pass


def _row(u: User, aliases: tuple[str, ...] = ()) -> UserRow:
    return UserRow(u.id, u.username, u.display_name, u.role, bool(u.active), aliases)


def _check_username(username: str) -> str:
    username = username.strip()
    if not _USERNAME.match(username):
        raise UserError("A user name has 2 to 100 letters, digits, dots, dashes or @.")
    return username


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"A password needs at least {MIN_PASSWORD} characters.")


def _current(s: Session) -> list[User]:
    """Users not merged into another: the practice's users as people see them."""
    return list(s.scalars(select(User).where(User.merged_into.is_(None))))


def _named(s: Session, username: str) -> User | None:
    found = s.scalars(
        select(User)
        .where(User.merged_into.is_(None), func.lower(User.username) == username.lower())
        .order_by(User.id)
    ).first()
    return found


class UsersRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    # Reading ------------------------------------------------------------------------
    def count(self) -> int:
        with self.db.read() as s:
            return int(s.execute(
                select(func.count()).select_from(User).where(User.merged_into.is_(None))
            ).scalar_one())

    def list(self, *, active_only: bool = False) -> list[UserRow]:
        """The practice's users (disabled ones too unless `active_only`), by name."""
        with self.db.read() as s:
            aliases = alias_map(s)
            users = [u for u in _current(s) if u.active or not active_only]
            users.sort(key=lambda u: (u.display_name.casefold(), u.id))
            return [_row(u, aliases.get(u.id, ())) for u in users]

    def get(self, user_id: str) -> UserRow | None:
        """The user `user_id` stands for now (the kept one, if it was merged)."""
        with self.db.read() as s:
            aliases = alias_map(s)
            kept = next((k for k, v in aliases.items() if user_id in v), user_id)
            u = s.get(User, kept)
            return None if u is None else _row(u, aliases.get(u.id, ()))

    def merged(self) -> builtins.list[MergedUser]:
        """Users made on two PCs under one name and merged: the admin is told of them."""
        with self.db.read() as s:
            rows = list(s.scalars(select(User).where(User.merged_into.is_not(None))))
            aliases = alias_map(s)
            out = []
            for u in sorted(rows, key=lambda u: (u.username.lower(), u.id)):
                kept_id = next((k for k, v in aliases.items() if u.id in v), u.merged_into)
                kept = s.get(User, kept_id)
                out.append(MergedUser(u.id, u.username, u.display_name, kept_id or "",
                                      kept.display_name if kept else ""))
            return out

    # Signing in ---------------------------------------------------------------------
    def authenticate(self, username: str, password: str) -> UserRow | None:
        with self.db.read() as s:
            u = _named(s, username.strip())
            aliases = alias_map(s) if u is not None else {}
        if u is None or not u.active:
            # Spend the same time as a real check, so a wrong name is not told apart.
            with contextlib.suppress(VerificationError, InvalidHashError):
                _hasher.verify(_DUMMY, password)
            return None
        try:
            _hasher.verify(u.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        return _row(u, aliases.get(u.id, ()))

    def still_allowed(self, user_id: str) -> bool:
        """Whether a signed-in user may stay signed in (not disabled meanwhile, here or
        on another PC)."""
        row = self.get(user_id)
        return row is not None and row.active

    # Managing (administrators) ------------------------------------------------------
    def create(
        self, username: str, display_name: str, password: str, role: str,
        *, by: Viewer | None = None,
    ) -> UserRow:
        """A new user. `by` is the admin doing it (None: the first administrator of a
        new practice database, made at the welcome dialog)."""
        username = _check_username(username)
        _check_password(password)
        if role not in ROLES:
            raise UserError("The role is admin or member.")
        with self.db.write() as s:
            if by is not None:
                _require_admin(by)
            if _named(s, username) is not None:
                raise UserError(f"There is already a user called {username}.")
            now = utc_now_text()
            u = User(
                username=username,
                display_name=display_name.strip() or username,
                password_hash=_hasher.hash(password),
                role=role,
                active=True,
                created_at=now,
                updated_at=now,
            )
            s.add(u)
            s.flush()
            return _row(u)

    def update(
        self, by: Viewer, user_id: str, *, display_name: str | None = None,
        role: str | None = None, active: bool | None = None,
    ) -> UserRow:
        _require_admin(by)
        if role is not None and role not in ROLES:
            raise UserError("The role is admin or member.")
        with self.db.write() as s:
            u = _get(s, user_id)
            if display_name is not None:
                name = display_name.strip()
                if not name:
                    raise UserError("The name may not be empty.")
                if name != u.display_name:
                    u.display_name = name
            if role is not None and role != u.role:
                u.role = role
            if active is not None and active != u.active:
                if not active and user_id in by.owner_ids:
                    raise UserError("You cannot disable yourself.")
                u.active = active
            _keep_an_admin(s)
            return _touched(s, u)

    def set_password(self, by: Viewer, user_id: str, password: str) -> None:
        """A new password (an admin's reset, or a user changing his own)."""
        if user_id not in by.owner_ids:
            _require_admin(by)
        _check_password(password)
        with self.db.write() as s:
            u = _get(s, user_id)
            u.password_hash = _hasher.hash(password)
            _touched(s, u)

    def split(self, by: Viewer, user_id: str, username: str) -> UserRow:
        """Undo a merge: the merged user (two people who picked the same name) becomes
        a user of his own again under another name; what was made his is his again."""
        _require_admin(by)
        username = _check_username(username)
        with self.db.write() as s:
            u = s.get(User, user_id)
            if u is None or u.merged_into is None:
                raise NotFoundError("That user is not merged into another.")
            if _named(s, username) is not None:
                raise UserError(f"There is already a user called {username}.")
            u.merged_into = None
            u.username = username
            return _touched(s, u)


def _require_admin(by: Viewer) -> None:
    if not by.is_admin:
        raise PermissionDeniedError("Only an administrator can manage users.")


def _get(s: Session, user_id: str) -> User:
    u = s.get(User, user_id)
    if u is None or u.merged_into is not None:
        raise NotFoundError("That user does not exist.")
    return u


def _keep_an_admin(s: Session) -> None:
    s.flush()
    if not any(u.active and u.role == "admin" for u in _current(s)):
        raise UserError("The practice needs at least one active administrator.")


def _touched(s: Session, u: User) -> UserRow:
    if s.is_modified(u):
        u.updated_at = utc_now_text()
    s.flush()
    return _row(u, alias_map(s).get(u.id, ()))


# What an unknown user's password is checked against, so that a wrong name takes as
# long to refuse as a wrong password. Hashed once when written, not at each start
# (a hash takes a third of a second of the app's start-up): the hash of "not a real
# password" with the hasher's parameters, which a test keeps equal to _hasher's.
_DUMMY = (
    "$argon2id$v=19$m=65536,t=3,p=4$adrt6j63A4AYBoOqAzhKdQ$"
    "nk4Oh7w7eZBc3fmbZrRYKQDUYlSjoB7P1lZeRTo4KJ0"
)
