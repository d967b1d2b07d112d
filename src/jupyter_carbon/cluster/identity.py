"""Which physical machine a process runs on: the key for "one meter per host".

Workers on one machine share its RAPL domains and GPUs, so they must be metered once.
The key is, in order: ``JUPYTER_CARBON_HOST_ID`` (set it where the default is wrong:
several containers on one node, e.g. from Kubernetes' downward API ``spec.nodeName``; tests
use it to simulate hosts), the systemd machine id, the hostname. A process's start time
(in clock ticks since boot) tells a pid in this pid namespace from the same number in
another one, so a meter never reads an unrelated process's CPU time.
"""
from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)

HOST_ID_ENV = "JUPYTER_CARBON_HOST_ID"
_MACHINE_ID_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id")


def host_id(env: Mapping[str, str] | None = None) -> str:
    """This machine's identity (see the module docstring for the order)."""
    override = ((os.environ if env is None else env).get(HOST_ID_ENV) or "").strip()
    if override:
        return override
    for path in _MACHINE_ID_FILES:
        try:
            with open(path, encoding="ascii", errors="replace") as f:
                mid = f.read().strip()
            if mid:
                return f"machine-id:{mid}"
        except OSError:
            log.debug("no machine id in %s", path, exc_info=True)
    return f"hostname:{socket.gethostname()}"


def process_start(pid: int | None = None) -> int | None:
    """Start time of ``pid`` (this process by default) in clock ticks since boot, or None."""
    path = f"/proc/{pid or 'self'}/stat"
    try:
        with open(path, "rb") as f:
            raw = f.read()
        # The command name (field 2) may contain spaces and parentheses: split after its end.
        return int(raw[raw.rindex(b")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        log.debug("no start time for %s", path, exc_info=True)
        return None
