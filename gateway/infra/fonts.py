"""Where the Noto fonts are: the posters draw Indian scripts with them and the console serves them.

From Debian's `fonts-noto-core` (a package, not files committed here), or `CPGW_FONT_DIR`.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_FONT_DIR = Path("/usr/share/fonts/truetype/noto")


def font_dir() -> Path:
    return Path(os.environ.get("CPGW_FONT_DIR") or DEFAULT_FONT_DIR)
