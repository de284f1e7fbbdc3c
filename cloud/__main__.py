"""`python -m cloud [--host H] [--port P] [--data DIR]`: run the cloud server."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

import uvicorn

from app.core import logsafe
from cloud import logs
from cloud.config import Settings
from cloud.main import create_app
from cloud.migrate import SchemaTooNewError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cloud", description=__doc__)
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8000)")
    parser.add_argument("--data", type=Path, help="data directory (database, files, mail)")
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    if args.data:
        overrides["data_dir"] = args.data
    settings = Settings(**overrides)
    logs.configure(settings.log_level, settings.log_format)
    logsafe.protect_all("cloud", "uvicorn", "uvicorn.access", "uvicorn.error")
    try:
        app = create_app(settings)
    except SchemaTooNewError as exc:
        logging.getLogger("cloud").error("%s", exc)
        return 2
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level,
                timeout_graceful_shutdown=5, server_header=False,
                ssl_certfile=settings.ssl_certfile, ssl_keyfile=settings.ssl_keyfile,
                log_config=None)  # uvicorn's records go through the root handler
    return 0


if __name__ == "__main__":
    sys.exit(main())
