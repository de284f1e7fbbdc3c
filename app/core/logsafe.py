"""Logs without patient data: a filter every handler of the app, the agent and the
cloud carries.

Log lines are meant to name things by id (a patient id, a hash, an upload id); this
filter is the net under that rule for what still carries values — an exception's
message, a file name from a device, a path, an e-mail address. It renders each
record's message once and masks, whatever the level:

- e-mail addresses, runs of six or more digits (phones, card and ID numbers, DICOM
  dates), ISO dates, DICOM person names (with ^);
- quoted text ('…' or "…", as %r writes it) and file names and paths;
- query strings of URLs (a search typed in the portal);
- a traceback keeps its frames (code, not data) and its exception types, and loses
  its exception messages, which may quote any value (only the ids in them stay) —
  whether the record carries the exception or the message carries a formatted one.

Ids (UUIDs, SHA-256 hashes) pass untouched.
"""

from __future__ import annotations

import logging
import re
import traceback

_MASKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[^\s@'\"<>()]+@[^\s@'\"<>()]+\.[A-Za-z]{2,}"), "<email>"),
    (re.compile(r"(\?)[^\s'\"]+"), r"\1<query>"),
    (re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\""), "<text>"),
    (re.compile(r"(?<![\w.])(?:[A-Za-z]:)?(?:[\\/][^\\/\s:]+)+[\\/]?"), "<path>"),
    (re.compile(r"[^\s\\/:]+\.[A-Za-z0-9]{2,5}\b"), "<file>"),
    (re.compile(r"\S*\^\S*"), "<name>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}\b"), "<date>"),
    (re.compile(r"(?<![0-9a-fA-F-])\+?\d[\d \-.]{4,}\d(?![0-9a-fA-F-])"), "<number>"),
)
# Ids and hashes are what a log line should name: kept whole.
_ID = re.compile(
    r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\b[0-9a-f]{12,64}\b"
)


def mask(text: str) -> str:
    """`text` with the values above masked; ids kept."""
    kept: list[str] = []

    def hold(m: re.Match[str]) -> str:
        kept.append(m.group(0))
        return f"\x00{len(kept) - 1}\x00"

    out = _ID.sub(hold, text)
    for pattern, replacement in _MASKS:
        out = pattern.sub(replacement, out)
    return re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], out)


_EXC_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Group)?)"
                       r"(?::\s?(.*))?$")


def withheld(message: str) -> str:
    """An exception's message reduced to the ids it names."""
    ids = _ID.findall(message)
    return "<message withheld" + (f"; ids: {' '.join(ids)}" if ids else "") + ">"


def safe_text(text: str) -> str:
    """`text` masked; in a formatted traceback inside it, the frames (code and where it
    is) are kept as they are, and the exception lines lose their message."""
    if "Traceback (most recent call last)" not in text:
        return mask(text)
    out, inside = [], False
    for line in text.split("\n"):
        if "Traceback (most recent call last)" in line:
            inside = True
            out.append(mask(line))
        elif inside and line[:1].isspace():
            out.append(line)  # a frame: a file, a line number, a line of code
        elif inside and line:
            m = _EXC_LINE.match(line)
            out.append(f"{m.group(1)}: {withheld(m.group(2))}"
                       if m and m.group(2) is not None else mask(line))
            inside = line.startswith(("During handling", "The above exception"))
        else:
            out.append(mask(line))
    return "\n".join(out)


def _safe_traceback(exc: BaseException) -> str:
    lines: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        part = ["Traceback (most recent call last):\n"]
        part += traceback.format_tb(current.__traceback__)
        part.append(f"{type(current).__module__}.{type(current).__qualname__}: "
                    f"{withheld(str(current))}\n")
        lines = part + lines
        current = current.__cause__ or current.__context__
    return "".join(lines).rstrip("\n")


_QUERY_VALUE = re.compile(r"=[^&#\s]*")


def _access_arg(arg: object) -> object:
    """An access log's argument (client, method, path, version, status): a path keeps its
    route (ids, no values) and loses its query's values (a search typed in the portal)."""
    if not isinstance(arg, str) or "?" not in arg:
        return arg
    path, _, query = arg.partition("?")
    return path + "?" + _QUERY_VALUE.sub("=[hidden]", query)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            # Its formatter reads the arguments one by one: they stay a tuple.
            record.args = tuple(_access_arg(a) for a in record.args)
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the template only
            message = str(record.msg)
        record.msg, record.args = safe_text(message), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = _safe_traceback(record.exc_info[1])
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = safe_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True


FILTER = RedactingFilter()


def protect(handler: logging.Handler) -> logging.Handler:
    if FILTER not in handler.filters:
        handler.addFilter(FILTER)
    return handler


def protect_all(*logger_names: str) -> None:
    """The filter on every handler of the root logger and of `logger_names`, and on
    those loggers themselves (for records they handle before propagating)."""
    for name in ("", *logger_names):
        logger = logging.getLogger(name)
        if name and FILTER not in logger.filters:
            logger.addFilter(FILTER)
        for handler in logger.handlers:
            protect(handler)
