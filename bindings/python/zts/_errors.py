"""zts errors as the standard library's exceptions."""

from __future__ import annotations

import errno as _errno
import os

from ._lib import lib


def error(code: int | None = None) -> OSError:
    """The OSError subclass Python uses for `code` (ConnectionRefusedError,
    BrokenPipeError, ...), with the detailed zts message when there is one."""
    last = lib.zts_errno()
    if code is None:
        code = last
    detail = lib.zts_errmsg() if code == last else None
    text = detail.decode(errors="replace") if detail else os.strerror(code)
    return OSError(code, text)


def check(result: int) -> int:
    """Raises for a -1 result; returns the others."""
    if result < 0:
        raise error()
    return result


BLOCKING = (_errno.EAGAIN, _errno.EWOULDBLOCK, _errno.EINPROGRESS, _errno.EALREADY)
