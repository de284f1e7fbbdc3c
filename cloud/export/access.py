"""Who may download the practice's data: the permission, the groups that hold it, and
who the members are.

A permission is held through groups only. The built-in portal admin is the practice's
owner: he holds every permission and is the one who grants them, as are the program
users with the administrator role (from a clinic PC, through the Server window).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.ids import new_id
from cloud import security
from cloud.crud import Refused
from cloud.export.models import AccessGroup, GroupMember, MemberContact
from cloud.models import Installation, Record
from cloud.policy import Principal
from cloud.portal.models import ADMIN, Account

DATA_DOWNLOAD = "data_download.full_control"
PERMISSIONS = {DATA_DOWNLOAD: "Data download — full control"}
GRANTED_BY = ("the practice's administrator (a program user with the administrator role), "
              "in Groups and permissions of the Server window (Sync ▸ Server…) on a clinic PC")


@dataclass(frozen=True, slots=True)
class Member:
    """Someone who can ask for a data download: a key ("admin", "account:<id>",
    "user:<id>") and the name people know him by."""

    installation_id: str
    key: str
    name: str

    @property
    def actor(self) -> str:
        return self.key if self.key == ADMIN else f"{self.key.split(':')[0]}:{self.name}"


def of_principal(p: Principal) -> Member:
    """The member behind a portal session (admin or a server account)."""
    if p.kind == "admin":
        return Member(p.installation_id, ADMIN, ADMIN)
    if p.kind == "account" and p.account_id:
        return Member(p.installation_id, f"account:{p.account_id}", p.name)
    raise Refused(403, "only the practice's users can download its data")


def program_user(session: Session, installation_id: str, user_id: str) -> Member:
    rec = _user_record(session, installation_id, user_id)
    name = str(rec.fields.get("display_name") or rec.fields.get("username") or "")
    return Member(installation_id, f"user:{rec.entity_id}", name)


def _user_record(session: Session, installation_id: str, user_id: str) -> Record:
    rec = session.execute(select(Record).where(
        Record.installation_id == installation_id, Record.entity == "user",
        Record.entity_id == user_id[:36])).scalar_one_or_none()
    if rec is None or rec.fields.get("merged_into") or not rec.fields.get("active", True):
        raise Refused(404, "Your user is not on the server yet. Synchronize first "
                           "(Sync ▸ Synchronize now), then try again.")
    return rec


def check_password(session: Session, member: Member, password: str) -> bool:
    """Whether `password` is the member's own: the portal admin's, the account's, or
    the program user's desktop password (its hash arrives with the synced user)."""
    kind, _, ident = member.key.partition(":")
    if member.key == ADMIN:
        inst = session.get(Installation, member.installation_id)
        stored = inst.admin_password_hash if inst else None
    elif kind == "account":
        account = session.get(Account, ident)
        stored = account.password_hash if account and \
            account.installation_id == member.installation_id else None
    else:
        rec = _user_record(session, member.installation_id, ident)
        stored = str(rec.fields.get("password_hash") or "") or None
    return bool(stored) and security.verify_password(stored or "", password)


def holds(session: Session, member: Member, permission: str = DATA_DOWNLOAD) -> bool:
    if member.key == ADMIN:
        return True
    groups = session.scalars(select(AccessGroup).join(
        GroupMember, GroupMember.group_id == AccessGroup.id).where(
        AccessGroup.installation_id == member.installation_id,
        GroupMember.member == member.key))
    return any(permission in g.permissions.get("names", []) for g in groups)


def missing(permission: str = DATA_DOWNLOAD) -> str:
    return (f"Your user needs the permission “{PERMISSIONS[permission]}”, held through a "
            f"group. It can be granted by {GRANTED_BY}.")


def contact(session: Session, member: Member) -> MemberContact | None:
    """Where the member's codes go: his own address, or for the built-in admin the
    practice's registered email (proved when the upload password was mailed there)."""
    found = session.get(MemberContact, (member.installation_id, member.key))
    if found is not None and (found.email or found.mobile):
        return found
    if member.key == ADMIN:
        inst = session.get(Installation, member.installation_id)
        if inst is not None:
            return MemberContact(installation_id=inst.id, member=ADMIN, email=inst.email,
                                 mobile="")
    return None


# Managing groups (from a clinic PC: the Server window) ---------------------------------
def set_group(session: Session, installation_id: str, name: str, permissions: list[str],
              members: dict[str, str]) -> str:
    """Create or replace the group `name`: its permissions and its members, each with the
    email his one-time codes go to ({member key: email})."""
    unknown = set(permissions) - set(PERMISSIONS)
    if unknown:
        raise Refused(422, "unknown permission")
    group = session.scalar(select(AccessGroup).where(
        AccessGroup.installation_id == installation_id, AccessGroup.name == name))
    if group is None:
        group = AccessGroup(id=new_id(), installation_id=installation_id, name=name,
                            permissions={})
        session.add(group)
    group.permissions = {"names": sorted(set(permissions))}
    session.flush()
    for old in session.scalars(select(GroupMember).where(GroupMember.group_id == group.id)):
        session.delete(old)
    session.flush()
    for key, email in members.items():
        session.add(GroupMember(group_id=group.id, member=key))
        if email:
            found = session.get(MemberContact, (installation_id, key))
            if found is None:
                session.add(MemberContact(installation_id=installation_id, member=key,
                                          email=email, mobile=""))
            elif found.email != email:
                found.email, found.verified_at = email, None
    session.commit()
    return group.id


def groups(session: Session, installation_id: str) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for g in session.scalars(select(AccessGroup).where(
            AccessGroup.installation_id == installation_id).order_by(AccessGroup.name)):
        members = list(session.scalars(select(GroupMember.member)
                                       .where(GroupMember.group_id == g.id)))
        emails = {c.member: c.email for c in session.scalars(select(MemberContact).where(
            MemberContact.installation_id == installation_id,
            MemberContact.member.in_(members)))}
        out.append({"name": g.name, "permissions": g.permissions.get("names", []),
                    "members": members, "emails": emails})
    return out
