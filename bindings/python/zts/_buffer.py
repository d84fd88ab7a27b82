"""The bytes of any buffer object, pinned, without copying them.

`bytes`, `bytearray`, `memoryview` (sliced or not), `array.array` and
`mmap` all export their memory through the buffer protocol; holding a
`Py_buffer` keeps that memory in place (a bytearray cannot be resized while
it is held), so a zts call can read or write it by address. Copying a
read-only buffer per call instead made `sendall` of a large `bytes`
quadratic: every pass copied what was left.
"""

from __future__ import annotations

import ctypes
from ctypes import POINTER, c_char_p, c_int, c_ssize_t, c_void_p

PyBUF_SIMPLE = 0
PyBUF_WRITABLE = 1


class _Py_buffer(ctypes.Structure):
    # CPython's Py_buffer (Include/pybuffer.h), stable since 3.3.
    _fields_ = [
        ("buf", c_void_p),
        ("obj", c_void_p),
        ("len", c_ssize_t),
        ("itemsize", c_ssize_t),
        ("readonly", c_int),
        ("ndim", c_int),
        ("format", c_char_p),
        ("shape", POINTER(c_ssize_t)),
        ("strides", POINTER(c_ssize_t)),
        ("suboffsets", POINTER(c_ssize_t)),
        ("internal", c_void_p),
    ]


# pythonapi is a PyDLL: a -1 from GetBuffer raises the error it set
# (TypeError for a non-buffer, BufferError for a non-contiguous view).
_get = ctypes.pythonapi.PyObject_GetBuffer
_get.argtypes = [ctypes.py_object, POINTER(_Py_buffer), c_int]
_get.restype = c_int
_release = ctypes.pythonapi.PyBuffer_Release
_release.argtypes = [POINTER(_Py_buffer)]
_release.restype = None


class Buffer:
    """`address` and `size` (in bytes) of `data`'s memory while the
    `with` block runs; `writable=True` refuses read-only objects."""

    __slots__ = ("_view", "_held", "address", "size")

    def __init__(self, data, writable: bool = False) -> None:
        self._view = _Py_buffer()
        self._held = False
        try:
            _get(data, ctypes.byref(self._view), PyBUF_WRITABLE if writable else PyBUF_SIMPLE)
        except BufferError:
            if writable and memoryview(data).readonly:
                # As the socket module says it.
                raise TypeError("argument must be read-write bytes-like object, not %s" % type(data).__name__) from None
            raise
        self._held = True
        # NULL for an empty buffer; zts takes NULL with length 0.
        self.address = self._view.buf or 0
        self.size = self._view.len

    def release(self) -> None:
        if self._held:
            self._held = False
            _release(ctypes.byref(self._view))

    def __enter__(self) -> "Buffer":
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def __del__(self) -> None:
        self.release()
