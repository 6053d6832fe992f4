"""Vietnamese text folded to plain ASCII, for search keys and ``name_ascii`` columns."""

from __future__ import annotations

import unicodedata

# đ/Đ are letters of their own, not d with a combining mark: NFD leaves them whole.
_STROKED_D = str.maketrans({"đ": "d", "Đ": "D"})


def fold_vietnamese(text: str) -> str:
    """Drop Vietnamese diacritics, keeping case, spaces and punctuation.

    >>> fold_vietnamese("Thừa Thiên Huế, Phường Đông Ba")
    'Thua Thien Hue, Phuong Dong Ba'
    """
    decomposed = unicodedata.normalize("NFD", text.translate(_STROKED_D))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", bare)
