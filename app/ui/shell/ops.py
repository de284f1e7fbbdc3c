"""Background work for the UI: write ops and read ops, never on the Qt UI thread.

One single-worker executor owns database writes (so two saves never race); reads go
to a small pool. Results come back to the UI thread through a queued Qt signal, where
`.success()` / `.failure()` callbacks run. A finished write announces what it changed
(a set of flags such as {"patients"}); screens refresh for the flags they care about.

    WriteOp(lambda: store.patients.create(viewer, data), changes={"patients"})
        .success(on_saved).failure(show_error).run(ops)
"""

from __future__ import annotations

import errno
import logging
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from app.imaging.errors import ImagingError
from app.platform.secrets import SecretError
from app.store.errors import DiskFullError, StoreError

T = TypeVar("T")
log = logging.getLogger("chairside.ops")


def user_message(exc: BaseException, doing: str = "") -> str:
    """What went wrong, in words a practice can act on (never a class name or a code)."""
    if isinstance(exc, (StoreError, ImagingError, SecretError)) and str(exc):
        return str(exc)  # these are written for the user
    client = sys.modules.get("sync_agent.client")  # loaded only once the server was asked
    if client is not None and isinstance(exc, client.CloudError):
        if isinstance(exc, client.AuthError):
            return "The server did not accept this computer. Connect it again (Sync ▸ Server…)."
        if isinstance(exc, client.RejectedError):
            return f"The server refused it: {exc.reason}"
        if isinstance(exc, client.UntrustedServer):
            return f"{client.UNVERIFIED[0].upper()}{client.UNVERIFIED[1:]}."
        return "The server could not be reached. Check the internet connection and try again."
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return "The server could not be reached. Check the internet connection and try again."
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return DiskFullError.FULL
    if isinstance(exc, PermissionError):
        return "Chairside may not use this file or folder. Ask whoever manages this computer."
    if isinstance(exc, FileNotFoundError):
        return "A file Chairside needed is no longer there."
    what = f" while {doing}" if doing else ""
    return (
        f"Something went wrong{what}; it was not finished. Try again; if it happens again, "
        "the details are in Chairside's log."
    )


def _receiver_alive(callback: Callable[..., Any]) -> bool:
    """False when the callback is a method of a widget or model Qt has already deleted: the
    window that asked for the work was closed before the work finished."""
    owner = getattr(callback, "__self__", None)
    return not isinstance(owner, QObject) or shiboken6.isValid(owner)


class OpRunner(QObject):
    """Owns the executors; lives on the UI thread."""

    changed = Signal(object)  # set[str] of change flags, after a successful write
    _done = Signal(object, object, object)  # op, result, exception
    _progress = Signal(object, int, int, str)  # op, done, total, label
    busy = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-write")
        self._readers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="db-read")
        self._running = 0
        self._pending: set[Future[Any]] = set()
        self._closed = False
        # Where a failure with no handler of its own is shown (the main window).
        self.window: QWidget | None = None
        self._done.connect(self._finish)
        self._progress.connect(self._report)

    def submit(self, op: _Op[Any], write: bool) -> Future[Any]:
        if self._closed:
            # A late timer after shutdown: nothing runs, nobody is called back.
            late: Future[Any] = Future()
            late.cancel()
            return late
        self._running += 1
        if self._running == 1:
            self.busy.emit(True)
        pool = self._writer if write else self._readers

        def work() -> Any:
            try:
                result = op.fn(op) if op.wants_progress else op.fn()
            except BaseException as exc:
                self._done.emit(op, None, exc)
                raise
            self._done.emit(op, result, None)
            return result

        future = pool.submit(work)
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        return future

    @Slot(object, object, object)
    def _finish(self, op: _Op[Any], result: Any, exc: BaseException | None) -> None:
        self._running -= 1
        if self._running == 0:
            self.busy.emit(False)
        if exc is not None:
            if op.on_failure and _receiver_alive(op.on_failure):
                op.on_failure(exc)
            elif not op.on_failure:
                self.unhandled(op, exc)
            return
        if op.changes:
            self.changed.emit(set(op.changes))
        if op.on_success and _receiver_alive(op.on_success):
            op.on_success(result)

    def unhandled(self, op: _Op[Any], exc: BaseException) -> None:
        """Logged with its details, and told to the user: never only on stderr."""
        # The traceback goes with the exception from the worker thread that raised it.
        details = "".join(traceback.format_exception(exc))
        log.error("%s failed: %s", op.name or "a background operation", details)
        parent = self.window or QApplication.activeWindow()
        box = QMessageBox(
            QMessageBox.Icon.Warning, "Chairside", user_message(exc, op.name), parent=parent
        )
        box.setObjectName("opFailed")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    @Slot(object, int, int, str)
    def _report(self, op: _Op[Any], done: int, total: int, label: str) -> None:
        if op.on_progress:
            op.on_progress(done, total, label)

    def progress(self, op: _Op[Any], done: int, total: int, label: str = "") -> None:
        """Called from the worker thread by ops created `with_progress()`."""
        self._progress.emit(op, done, total, label)

    def wait_idle(self) -> None:
        """Block until queued work is done (shutdown and tests only)."""
        self._writer.submit(lambda: None).result()
        for _ in range(2):
            self._readers.submit(lambda: None).result()

    def drain(self, timeout_s: float = 30.0) -> None:
        """Finish queued work and deliver its callbacks now, while the windows that asked
        for it still exist (before a window or a database is closed for good)."""
        deadline = time.monotonic() + timeout_s
        # `_running` drops on the UI thread, when a result is delivered; a callback may
        # queue more work, which this loop then waits for too.
        while self._running and time.monotonic() < deadline:
            wait(self._pending.copy(), timeout=0.05)
            QCoreApplication.sendPostedEvents(self)

    def shutdown(self) -> None:
        self._closed = True
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)


class _Op(Generic[T]):
    write = False

    def __init__(
        self, fn: Callable[..., T], changes: set[str] | None = None, name: str = ""
    ) -> None:
        self.fn = fn
        # What the user asked for, in his words ("saving the patient"), for messages.
        self.name = name
        self.changes = changes or set()
        # Callbacks' results are ignored: a lambda may end in a call that returns one.
        self.on_success: Callable[[T], object] | None = None
        self.on_failure: Callable[[BaseException], object] | None = None
        self.on_progress: Callable[[int, int, str], object] | None = None
        self.wants_progress = False
        self._runner: OpRunner | None = None

    def success(self, fn: Callable[[T], object]) -> _Op[T]:
        self.on_success = fn
        return self

    def failure(self, fn: Callable[[BaseException], object]) -> _Op[T]:
        self.on_failure = fn
        return self

    def with_progress(self, fn: Callable[[int, int, str], object]) -> _Op[T]:
        """The op's function then receives the op, to call `report(done, total, label)`."""
        self.on_progress = fn
        self.wants_progress = True
        return self

    def report(self, done: int, total: int, label: str = "") -> None:
        if self._runner is not None:
            self._runner.progress(self, done, total, label)

    def run(self, runner: OpRunner) -> Future[T]:
        self._runner = runner
        return runner.submit(self, self.write)


class WriteOp(_Op[T]):
    """Changes data; runs on the single writer; announces `changes` when it succeeds."""

    write = True


class ReadOp(_Op[T]):
    """Reads data (or talks to the network); runs on the reader pool."""
