"""Progress bars for long management commands: on a terminal only.

Under cron, CI or a pipe a bar is noise (`0creator [00:00, ?creator/s]` in a mail), so there the
command prints nothing but its own one-line summary.
"""

from __future__ import annotations

import sys

from tqdm import tqdm


def progress_bar(*, total: int | None, unit: str, stream, enabled: bool = True) -> tqdm:
    """A tqdm bar when `stream` (a command's `self.stderr`) is a terminal; a silent one otherwise.

    The bar writes to the process's stderr rather than through Django's OutputWrapper, whose
    `write` appends a newline to every carriage-return redraw.
    """
    on_terminal = enabled and stream.isatty()
    return tqdm(total=total, unit=unit, file=sys.stderr, disable=not on_terminal, dynamic_ncols=True)
