"""How every benchmark ends: 0 pass, 1 fail, 2 could not run (a crash is not a FAIL)."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable


def run_benchmark(main: Callable[[], int]) -> None:
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(2)
    except SystemExit as exc:
        if isinstance(exc.code, int) or exc.code is None:
            raise
        print(f"benchmark could not run: {exc.code}", file=sys.stderr)
        sys.exit(2)
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        sys.exit(2)
