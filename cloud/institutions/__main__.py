"""`python -m cloud.institutions new-lab --name N --region R --admin USER [--email E]
[--data DIR]`:
the operator opens a lab on the cloud (labs have no practice installation) with its
first administrator, whose password is read from the terminal (or one line of standard
input), never from the command line. Prints the lab's institution code, which its
members sign in with at /lab/."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from sqlalchemy.orm import Session

from cloud import audit, migrate, passwords
from cloud.config import Settings
from cloud.crud import Refused
from cloud.crud.accounts import MAX_PASSWORD, MIN_PASSWORD
from cloud.db import make_engine
from cloud.institutions import service
from cloud.institutions.dissolution_models import LabContact


def _password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password of the lab's administrator: ")
        if getpass.getpass("Again: ") != first:
            raise SystemExit("The two passwords differ.")
        return first
    return sys.stdin.readline().rstrip("\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cloud.institutions", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    lab = sub.add_parser("new-lab", help="open a lab with its first administrator")
    lab.add_argument("--name", required=True)
    lab.add_argument("--region", default="", help="where the lab is, e.g. a country code")
    lab.add_argument("--admin", required=True, help="user name of its first administrator")
    lab.add_argument("--email", default="",
                     help="the administrator's email, where one-time codes go (dissolution)")
    lab.add_argument("--data", type=Path, help="data directory of the cloud")
    args = parser.parse_args(argv)
    settings = Settings(**({"data_dir": args.data} if args.data else {}))
    password = _password()
    try:
        if not (MIN_PASSWORD <= len(password) <= MAX_PASSWORD):
            raise Refused(422, f"A password has {MIN_PASSWORD} to {MAX_PASSWORD} characters.")
        passwords.refuse_common(password)
    except Refused as exc:
        print(exc.reason, file=sys.stderr)
        return 2
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    try:
        migrate.upgrade(engine)
        key = audit.AuditKey.load(settings.audit_key, settings.data_dir)
        with Session(engine, expire_on_commit=False, info={audit.INFO_KEY: key}) as session:
            made, admin = service.create_lab(session, name=args.name, region=args.region,
                                             admin_name=args.admin, admin_password=password)
            if args.email.strip():
                session.add(LabContact(member_id=admin.id, email=args.email.strip()[:320],
                                       mobile=""))
                session.commit()
            print(made.code)
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
