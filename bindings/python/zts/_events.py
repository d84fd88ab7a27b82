"""Node and network events delivered to a Python callable."""

from __future__ import annotations

import sys
import traceback
from typing import Callable, NamedTuple, Optional

from . import _addr
from ._errors import check
from ._lib import EVENT_HANDLER, lib

NAMES = {1: "NODE_UP", 2: "NODE_DOWN", 3: "NET_UP", 4: "NET_DOWN", 5: "ADDR_ADDED", 6: "ADDR_REMOVED"}


class Event(NamedTuple):
    type: str
    node: int
    net: int
    address: Optional[str]


_handler = None  # keeps the ctypes callback alive while it is installed


def on_event(callback: Optional[Callable[[Event], None]]) -> None:
    """Calls `callback(event)` for each node and network event, in order,
    from zts's event thread; None stops. An exception in the callback is
    reported on stderr and delivery goes on."""
    global _handler
    if callback is None:
        check(lib.zts_set_event_handler(EVENT_HANDLER(), None))
        _handler = None
        return

    def deliver(ev, _user):
        e = ev.contents
        sa = _addr.from_sockaddr(bytes(e.addr))
        try:
            callback(Event(NAMES.get(e.type, str(e.type)), e.node, e.net, sa[0] if sa else None))
        except BaseException:
            print("zts: exception in the event callback:", file=sys.stderr)
            traceback.print_exc()

    handler = EVENT_HANDLER(deliver)
    check(lib.zts_set_event_handler(handler, None))
    _handler = handler
