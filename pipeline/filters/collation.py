"""MariaDB's default collation, utf8mb4_general_ci, as string keys that Python compares the same way.

Each character has one 16-bit weight (case and most accents folded: 'é' and 'E' weigh as 'E',
'ß' as 'S'), characters beyond the BMP all weigh U+FFFD, and comparison is PAD SPACE (trailing
spaces do not count). The weights were read from MariaDB 10.11 itself (WEIGHT_STRING for every
BMP code point, `general_ci.json`). A key is the string of its weights, trailing spaces removed,
then one space appended: that space keeps MariaDB's order for the characters that weigh less
than a space (tabs, controls), which sort before a string's end under PAD SPACE. (A string whose
trailing spaces are followed only by such characters is the one case still ordered as if unpadded.)
LIKE matches character by character without padding, so it uses `fold_chars`.
"""
from __future__ import annotations

import json
import re
from importlib import resources

_SUPPLEMENTARY = re.compile("[\U00010000-\U0010FFFF]")


def _weights() -> dict[int, str]:
    runs = json.loads(resources.files(__package__).joinpath("general_ci.json").read_text(encoding="utf-8"))["runs"]
    return {first + i: chr(weight + i) for first, weight, length in runs for i in range(length)}


_TABLE = _weights()


def fold_chars(text: str) -> str:
    """Each character replaced by its weight (as a character): equal under the collation iff equal here."""
    folded = text.translate(_TABLE)
    return _SUPPLEMENTARY.sub("\ufffd", folded) if not folded.isascii() else folded


def sort_key(text: str) -> str:
    """The comparison key: weights, PAD SPACE (see the module's note)."""
    return fold_chars(text).rstrip(" ") + " "
