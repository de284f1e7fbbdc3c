"""Chairside desktop app: `python main.py [--database PATH]`."""

from __future__ import annotations

import time

STARTED = time.time()  # before the heavy imports, so start-up is measured whole

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="chairside", description="Chairside dental practice")
    p.add_argument("--database", help="practice database file to open (default: the usual one)")
    p.add_argument(
        "--allow-key-file",
        action="store_true",
        help="keep the database key in a private file when no keyring exists",
    )
    p.add_argument(
        "--self-test",
        action="store_true",
        help="open the main window offscreen on a scratch database, then exit",
    )
    p.add_argument("--auto-login", metavar="USER:PASSWORD", help=argparse.SUPPRESS)
    p.add_argument("--exit-when-shown", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    args.started = STARTED
    if args.self_test:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        scratch = tempfile.mkdtemp(prefix="chairside-self-test-")
        os.environ["CHAIRSIDE_DATA_DIR"] = os.path.join(scratch, "data")
        os.environ["CHAIRSIDE_CONFIG_DIR"] = os.path.join(scratch, "config")
        args.database = os.path.join(scratch, "self-test.chairside")
        args.allow_key_file = True
        args.auto_login = "selftest:self-test-password"
    # The store and its libraries are loaded before Qt: PySide6 hooks every import made
    # after its own and reads each new module's source for its __feature__ switches
    # (about 0.1 s of start-up for SQLAlchemy and the store's modules).
    import app.store.services  # noqa: F401
    from app.ui.shell.application import run

    code = run(args)
    if args.self_test:
        print("self-test passed" if code == 0 else f"self-test failed ({code})")
    return code


if __name__ == "__main__":
    sys.exit(main())
