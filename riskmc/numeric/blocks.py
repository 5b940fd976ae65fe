"""Blocks of per-variable rows, laid out so compiled loops over many rows stay fast.

The model reads 33 input rows and writes 84 output rows draw by draw. With rows of
2^14 doubles every row starts a multiple of 4 KiB after the last, so all of them fall
in the same few L1 cache sets and the core stalls on 4K aliasing: writing 84 such
streams measured 7x slower than writing one. Rows here are padded so that each starts
one cache line further round the cache than the one before.
"""

from __future__ import annotations

import numpy as np

_LINE = 64    # bytes
_PAGE = 4096  # bytes: the L1 set-index period


def empty(shape: tuple[int, ...]) -> np.ndarray:
    """An uninitialised float block; the last axis holds the draws, each row padded."""
    *lead, n = shape
    pad = ((_LINE - n * 8) % _PAGE) // 8
    return np.empty((*lead, n + pad))[..., :n]


def as_rows(arrays: list[np.ndarray]) -> np.ndarray | None:
    """The (rows, n) block the given rows are slices of, as a view; None if they are not.

    Each array holds one row (shape (n,)) or several ((m, n)); their rows must be
    equally spaced, in order, in one float64 buffer: what `empty` and the model give.
    """
    first = arrays[0]
    base = first.base
    if base is None or first.dtype != np.float64:
        return None
    n = first.shape[-1]
    addresses = []
    for a in arrays:
        if a.base is not base or a.dtype != np.float64 or a.shape[-1] != n or a.strides[-1] != 8:
            return None
        if a.ndim == 1:
            addresses.append(a.ctypes.data)
        elif a.ndim == 2:
            addresses.extend(a.ctypes.data + i * a.strides[0] for i in range(a.shape[0]))
        else:
            return None
    step = addresses[1] - addresses[0] if len(addresses) > 1 else n * 8
    if step < n * 8 or any(b - a != step for a, b in zip(addresses, addresses[1:])):
        return None
    rows = first if first.ndim == 2 else first[None, :]
    return np.lib.stride_tricks.as_strided(rows, shape=(len(addresses), n), strides=(step, 8),
                                           writeable=False)
