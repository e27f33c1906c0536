"""Text files of a data set, decoded explicitly: UTF-8 (a leading byte-order mark is
dropped), and a file that is not UTF-8 is a data error naming the file, the line and the
byte, never a ``UnicodeDecodeError``. Real data sets arrive in Latin-1 or with stray
bytes; guessing another encoding would silently change captions, so the user re-saves.
"""

from __future__ import annotations

import os
from pathlib import Path

from echodsl.errors import DataError


def read_text(path: str | os.PathLike) -> str:
    """The whole of ``path`` as text (OSError as usual if it cannot be read)."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DataError(f"line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at column {column}); "
                        "save the file as UTF-8", str(path)) from None
