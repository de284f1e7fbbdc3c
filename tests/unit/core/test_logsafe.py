"""The log filter: values masked, ids and the shape of a traceback kept."""

from __future__ import annotations

import logging
from pathlib import Path

from app.core import logsafe

UUID = "0190a3b2-1c2d-7e3f-8a9b-0c1d2e3f4a5b"
SHA = "11957b0d67ef63e4e9a9315dc618c817db0af8c768aafe12032636048d072e"


def test_values_are_masked_and_ids_kept() -> None:
    line = logsafe.mask(
        f"patient {UUID} image {SHA}: mail 'Smile again' to ann.lee@example.com, phone "
        "+44 7700 900123, card 4111 1111 1111 1111, born 1980-01-02 (DICOM 19800102), "
        "LEE^ANN from /srv/drop/x.dcm and pano.jpg; GET /portal/patients?q=Lee"
    )
    for value in ("Smile", "ann.lee", "900123", "4111", "1980", "19800102", "LEE", "drop",
                  "pano", "q=Lee"):
        assert value not in line, value
    assert UUID in line and SHA in line and "GET" in line


def test_a_protected_handler_writes_tracebacks_without_their_messages(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    handler = logsafe.protect(logging.FileHandler(path, encoding="utf-8"))
    log = logging.getLogger("chairside.test.logsafe")
    log.addHandler(handler)
    who, mail = "".join(["An", "n Lee"]), "@".join(["ann.lee", "example.com"])
    try:
        try:
            raise KeyError(f"mail to {who!r} <{mail}>")  # the source line holds no value
        except KeyError:
            log.exception("saving patient %s failed for %r", UUID, who)
    finally:
        log.removeHandler(handler)
        handler.close()
    text = path.read_text()
    assert "Ann" not in text and "ann.lee" not in text
    assert UUID in text and "Traceback" in text and "KeyError" in text
    assert "test_logsafe.py" in text  # still debuggable: where it happened


def test_an_access_log_line_keeps_its_route_and_hides_query_values() -> None:
    from uvicorn.logging import AccessFormatter

    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5150", "GET", "/doctor/patients?q=Haddad&page=2", "1.1", 200), None,
    )
    assert logsafe.RedactingFilter().filter(record)
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s',
                           use_colors=False).format(record)
    request = "GET /doctor/patients?q=[hidden]&page=[hidden] HTTP/1.1"
    assert line == f'127.0.0.1:5150 - "{request}" 200 OK'
