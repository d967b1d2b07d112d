"""An output the extension updates later, possibly from another thread, that user code
capturing output (``%%capture``, ``capture_output()``) never receives.

It keeps the display publisher that was live when it was shown, and sends every update
through it (in the cell's copied context on ipykernel 7.0.x, see ``kernel_compat``).
"""
from __future__ import annotations

import logging
import uuid
from typing import Any

from .kernel_compat import capture_context

log = logging.getLogger(__name__)


class PinnedDisplay:
    def __init__(self, shell: Any, obj: Any, *, raw: bool = False):
        """Show ``obj`` now (``raw``: ``obj`` is already a mime bundle)."""
        self._pub = shell.display_pub
        self.display_id = uuid.uuid4().hex
        self._ctx = capture_context()
        self._send(obj, update=False, raw=raw)

    def update(self, obj: Any, *, raw: bool = False) -> None:
        """Replace what is shown; ``raw``: ``obj`` is already a mime bundle."""
        self._send(obj, update=True, raw=raw)

    def _send(self, obj: Any, *, update: bool, raw: bool = False) -> None:
        if raw:
            data, md = obj, {}
        else:
            from IPython.core.formatters import format_display_data

            data, md = format_display_data(obj)
        kwargs = {"transient": {"display_id": self.display_id}, "update": update}
        if self._ctx is not None:
            self._ctx.run(self._pub.publish, data, md, **kwargs)
        else:
            self._pub.publish(data, md, **kwargs)
