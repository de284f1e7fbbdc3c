"""`python -m sync_agent --database PATH [run|connect|status|install-service|uninstall-service]`"""

from __future__ import annotations

import argparse
import getpass
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app.core import logsafe
from app.platform.paths import default_database
from app.platform.secrets import SecretStore
from app.store.errors import StoreError

if TYPE_CHECKING:
    from app.store.db import Database
    from sync_agent.connection import Connection


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="sync_agent", description="Chairside sync agent")
    p.add_argument("--database", help="practice database file (default: the usual one)")
    p.add_argument("--tick", type=float, default=1.0, help=argparse.SUPPRESS)
    p.add_argument("--pull-every", type=float, default=10.0, help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command")
    sub.add_parser("run", help="run in the foreground (the default)")
    c = sub.add_parser("connect", help="register this practice database and this PC")
    c.add_argument("--server", required=True, help="server address, e.g. https://cloud.example")
    c.add_argument("--email", help="register a new installation; the password is mailed")
    c.add_argument("--installation", help="installation ID to join with its upload password")
    c.add_argument(
        "--password-stdin", action="store_true", help="read the upload password from standard input"
    )
    sub.add_parser("status", help="print what the agent is doing")
    sub.add_parser("install-service", help="start the agent with your session")
    sub.add_parser("uninstall-service", help="stop starting the agent with your session")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    # Libraries' INFO lines (HTTP requests, migrations) are noise to whoever reads this;
    # the running agent tells what it does through its own loggers.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    logsafe.protect_all("chairside")
    path = Path(args.database) if args.database else default_database()
    command = args.command or "run"
    if command == "run":
        logging.getLogger("chairside").setLevel(logging.INFO)
    if command in ("install-service", "uninstall-service"):
        from sync_agent import service

        return service.main(command, path)
    from app.store.db import open_database

    secrets = SecretStore()
    try:
        if command == "run":
            return run(path, secrets, args)
        db = open_database(path, secrets, create=False)
    except StoreError as exc:
        print(f"sync agent: {exc}", file=sys.stderr)
        return 1
    try:
        if command == "connect":
            return connect(db, secrets, args)
        from app.store.sync.agent_repo import AgentRepo

        print(AgentRepo(db).status().describe())
        return 0
    finally:
        db.close()


def run(path: Path, secrets: SecretStore, args: argparse.Namespace) -> int:
    from app.store.db import open_database
    from sync_agent.lock import AgentLock, AlreadyRunning
    from sync_agent.runner import Agent

    lock = AgentLock(path)
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        print(f"sync agent: {exc}")
        return 0
    db = open_database(path, secrets, create=False)
    agent = Agent(db, secrets, tick_s=args.tick, pull_every_s=args.pull_every)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: agent.stop())
    print("sync agent: running", flush=True)
    try:
        agent.run()
    finally:
        db.close()
        lock.release()
    print("sync agent: stopped", flush=True)
    return 0


def connect(db: Database, secrets: SecretStore, args: argparse.Namespace) -> int:
    from app.store.settings_repo import SettingsRepo
    from sync_agent import connection
    from sync_agent.client import CloudError

    try:
        if args.email:
            inst = connection.register_installation(db, args.server, args.email)
            print(
                f"Registered. Installation ID: {inst}. The upload password was sent to "
                f"{args.email}; run connect again with --installation {inst} to add this PC."
            )
            return 0
        if not args.installation:
            print(
                "sync agent: give --email to register, or --installation to join", file=sys.stderr
            )
            return 2
        password = _upload_password(args.password_stdin)
        if password is None:
            print(
                "sync agent: there is no terminal to type the upload password in; give it "
                "on standard input with --password-stdin instead, e.g.\n"
                "  python -m sync_agent connect --server URL --installation ID "
                "--password-stdin < password.txt",
                file=sys.stderr,
            )
            return 2
        conn = connection.register_device(
            db,
            secrets,
            args.server,
            args.installation,
            password,
        )
        print(f"This PC is connected to installation {conn.installation_id}.")
        code = SettingsRepo(db).get("institution_code")
        if code:
            print(f"Labs find this practice by its institution code {code}.")
        restore(db, conn)
        return 0
    except CloudError as exc:
        print(f"sync agent: {exc}", file=sys.stderr)
        return 1


def restore(db: Database, conn: Connection) -> None:
    """A PC that joins the practice — a new one, or one restored after a failure —
    takes every record now, and the previews of the images; the files themselves come
    when opened, and in the background from the running agent."""
    import time

    from app.store.sync.sync_repo import SyncRepo
    from sync_agent.download_job import DownloadJob
    from sync_agent.job import Link
    from sync_agent.pull_job import PullReport, pull_all

    said = [0.0]

    def tell(text: str, final: bool = False) -> None:
        if final or time.monotonic() - said[0] >= 1.0:
            said[0] = time.monotonic()
            print(text, flush=True)

    def page(report: PullReport) -> None:
        tell(f"Fetching the practice's records: {report.applied} so far…")

    report = pull_all(SyncRepo(db), conn.client(), on_page=page)
    tell(f"Records: {report.applied} fetched.", final=True)
    def progress(done: int, total: int, what: str) -> None:
        if total:
            tell(f"{what}: {done} of {total}", final=done == total)

    job = DownloadJob(db, on_progress=progress, with_files=False)
    job.link = Link(conn.server_url, conn.token)
    got = job.run()
    print(f"Image previews: {got.thumbnails} fetched. The images themselves are fetched "
          "when opened, and in the background while the sync agent runs.", flush=True)


def _upload_password(from_stdin: bool) -> str | None:
    """The upload password, or None when nobody can be asked for it."""
    if from_stdin:
        return sys.stdin.readline().strip()
    if not sys.stdin or not sys.stdin.isatty():
        return None
    try:
        return getpass.getpass("Upload password: ")
    except EOFError:
        return None


if __name__ == "__main__":
    sys.exit(main())
