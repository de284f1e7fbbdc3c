"""Tracebacks in the server's log without the exceptions' messages.

The message of an exception raised while handling a request may quote what was sent:
a validation error its "input_value", an encoding error the text. A password must never
reach the log that way, so a failed request is logged with the exception's type and
where it was raised, not with its message.
"""

from __future__ import annotations

import logging
import traceback

SERVER_LOGGERS = ("uvicorn.error", "uvicorn", "fastapi", "starlette", "cloud")


class WithoutExceptionText(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc: BaseException | None = record.exc_info[1]
            chain = []
            while exc is not None:
                where = "".join(traceback.format_tb(exc.__traceback__))
                chain.append(f"{type(exc).__module__}.{type(exc).__qualname__} "
                             f"(message left out: it may quote what was sent)\n{where}")
                exc = exc.__cause__ or exc.__context__
            record.msg = f"{record.getMessage()}\n" + "\n".join(reversed(chain))
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def install() -> None:
    """Keep exception messages out of the server's log (once per process)."""
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, WithoutExceptionText) for f in logger.filters):
            logger.addFilter(WithoutExceptionText())
