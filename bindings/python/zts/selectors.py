"""A `selectors.BaseSelector` for zts sockets.

    sel = zts.selectors.ZtsSelector()
    sel.register(server, selectors.EVENT_READ, data)
    for key, events in sel.select(timeout=1.0): ...

It is built on one zts watch: an OS fd that is readable while a watched
zts socket is ready, so `select()` sleeps in the OS's poll with no thread
of its own and no polling. Registered objects are zts sockets (or their
zts fds, or objects whose `fileno()` returns one); OS file descriptors
belong in the standard library's selectors, which can in turn register
this selector's own `fileno()` to wait on both.

Level-triggered, as the standard library's selectors are: a socket is
reported by every `select()` while it stays ready.
"""

from __future__ import annotations

import math
import select as _select
import selectors as _selectors
import time
from collections.abc import Mapping
from typing import Any, Dict, List, Optional, Tuple

from ._errors import check
from ._lib import lib, pollfd

EVENT_READ = _selectors.EVENT_READ
EVENT_WRITE = _selectors.EVENT_WRITE
SelectorKey = _selectors.SelectorKey

_POLLIN, _POLLOUT, _POLLERR, _POLLHUP, _POLLNVAL, _POLLRDHUP = 0x1, 0x4, 0x8, 0x10, 0x20, 0x2000
# An error, hangup or closed fd counts as both readable and writable, as in
# the standard library's PollSelector: the next call says what happened.
_TROUBLE = _POLLERR | _POLLHUP | _POLLNVAL
_READABLE = _POLLIN | _POLLRDHUP | _TROUBLE
_WRITABLE = _POLLOUT | _TROUBLE


def _fd_of(fileobj) -> int:
    if isinstance(fileobj, int):
        fd = fileobj
    else:
        try:
            fd = int(fileobj.fileno())
        except (AttributeError, TypeError, ValueError):
            raise ValueError("Invalid file object: %r" % (fileobj,)) from None
    if fd < 0:
        raise ValueError("Invalid file descriptor: %d" % fd)
    return fd


def _check_events(events: int) -> None:
    if not events or events & ~(EVENT_READ | EVENT_WRITE):
        raise ValueError("Invalid events: {!r}".format(events))


def _poll_events(events: int) -> int:
    return (_POLLIN if events & EVENT_READ else 0) | (_POLLOUT if events & EVENT_WRITE else 0)


class _Keys(Mapping):
    """The read-only fileobj -> SelectorKey view `get_map()` returns."""

    def __init__(self, selector: "ZtsSelector") -> None:
        self._selector = selector

    def __len__(self) -> int:
        return len(self._selector._keys)

    def __getitem__(self, fileobj) -> SelectorKey:
        key = self._selector._keys.get(self._selector._lookup(fileobj))
        if key is None:
            raise KeyError("{!r} is not registered".format(fileobj))
        return key

    def __iter__(self):
        return iter(self._selector._keys)


class ZtsSelector(_selectors.BaseSelector):
    """Waits for zts sockets to become readable or writable."""

    def __init__(self) -> None:
        self._watch: int = check(lib.zts_watch_new())
        self._keys: Dict[int, SelectorKey] = {}
        self._map = _Keys(self)
        self._ready = (pollfd * 64)()
        self._poller = _select.poll()
        self._poller.register(self._watch, _select.POLLIN)

    def _lookup(self, fileobj) -> int:
        try:
            return _fd_of(fileobj)
        except ValueError:
            # A closed socket's fileno() is -1: find it by identity.
            for key in self._keys.values():
                if key.fileobj is fileobj:
                    return key.fd
            raise

    def fileno(self) -> int:
        """The watch's OS fd: readable while a registered socket is ready
        (to nest this selector inside an OS-level one)."""
        return self._watch

    def register(self, fileobj, events: int, data: Any = None) -> SelectorKey:
        if self._watch < 0:
            raise RuntimeError("selector is closed")
        _check_events(events)
        fd = _fd_of(fileobj)
        if fd in self._keys:
            raise KeyError("{!r} (FD {}) is already registered".format(fileobj, fd))
        # EBADF for a closed or unknown zts fd, as the OS would say.
        check(lib.zts_watch_add(self._watch, fd, _poll_events(events)))
        key = self._keys[fd] = SelectorKey(fileobj, fd, events, data)
        return key

    def unregister(self, fileobj) -> SelectorKey:
        fd = self._lookup(fileobj)
        key = self._keys.pop(fd, None)
        if key is None:
            raise KeyError("{!r} is not registered".format(fileobj))
        # A socket closed while registered has left the watch already.
        lib.zts_watch_del(self._watch, fd)
        return key

    def modify(self, fileobj, events: int, data: Any = None) -> SelectorKey:
        fd = self._lookup(fileobj)
        key = self._keys.get(fd)
        if key is None:
            raise KeyError("{!r} is not registered".format(fileobj))
        if events != key.events:
            _check_events(events)
            try:
                check(lib.zts_watch_add(self._watch, fd, _poll_events(events)))
            except OSError:
                # Closed since it was registered (and the fd perhaps reused):
                # forget it, as the standard library's epoll selector does.
                self.unregister(fileobj)
                raise
        key = self._keys[fd] = key._replace(events=events, data=data)
        return key

    def select(self, timeout: Optional[float] = None) -> List[Tuple[SelectorKey, int]]:
        if self._watch < 0:
            raise RuntimeError("selector is closed")
        deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
        while True:
            found = self._drain()
            if found or (deadline is not None and time.monotonic() >= deadline):
                return found
            if deadline is None:
                wait_ms = -1
            else:
                wait_ms = max(0, math.ceil((deadline - time.monotonic()) * 1000))
            # The watch's fd says that something may be ready; the drain
            # above says what (a socket may be ready and gone again).
            self._poller.poll(wait_ms)

    def _drain(self) -> List[Tuple[SelectorKey, int]]:
        # Room for every registered socket: the watch reports the ready ones
        # in fd order, so a short array would hide the same ones each time.
        if len(self._ready) <= len(self._keys):
            self._ready = (pollfd * (2 * len(self._keys) + 1))()
        n = check(lib.zts_watch_ready(self._watch, self._ready, len(self._ready)))
        found = []
        for entry in self._ready[:n]:
            key = self._keys.get(entry.fd)
            if key is None:
                continue
            events = 0
            if entry.revents & _READABLE and key.events & EVENT_READ:
                events |= EVENT_READ
            if entry.revents & _WRITABLE and key.events & EVENT_WRITE:
                events |= EVENT_WRITE
            if events:
                found.append((key, events))
        return found

    def close(self) -> None:
        if getattr(self, "_watch", -1) >= 0:
            self._poller.unregister(self._watch)
            lib.zts_watch_free(self._watch)
            self._watch = -1
            self._keys.clear()
            self._map = None

    def get_map(self) -> Optional[Mapping]:
        """The registered keys; None once the selector is closed."""
        return self._map

    def __del__(self) -> None:
        self.close()


DefaultSelector = ZtsSelector

__all__ = ["ZtsSelector", "DefaultSelector", "SelectorKey", "EVENT_READ", "EVENT_WRITE"]
