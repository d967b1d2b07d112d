"""Which notebook is this kernel running? A kernel is not told, so ask what is known, cheapest
and most specific first, and never fail or hang doing it.

1. ``JPY_SESSION_NAME``: jupyter_server >= 2 puts it in the kernel's environment. With a
   session name (JupyterLab, Notebook 7) it is the absolute OS path (``cwd_for_path(path)``
   joined with the file name); older servers and clients that send no name give the API path,
   relative to the server root. A relative one is looked up from the kernel's cwd (the
   notebook's directory) upwards, then under the running servers' root dirs.
2. ``__vsc_ipynb_file__``: VS Code puts the notebook's absolute path in the user namespace.
3. The running server's REST API (``api/sessions``), matched on this kernel's id, loopback
   only, in a daemon thread joined with ``timeout`` so a stuck server cannot stall the kernel.

A name from 1 or 2 that does not exist on disk (a remote server, a stale inherited variable)
only wins if the API has nothing better.
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import ConfigError

log = logging.getLogger(__name__)

__all__ = ["current_kernel_id", "log_paths", "notebook_path", "running_servers", "samples_path_for",
           "validate_log_path"]

_LOOPBACK = {"localhost", "127.0.0.1", "::1", "ip6-localhost"}
_WILDCARD = {"", "0.0.0.0", "::", "*"}
_KERNEL_FILE = re.compile(r"kernel-(.+)\.json$")


def current_kernel_id() -> str | None:
    """From the connection file name ``kernel-<id>.json``; None outside an ipykernel kernel."""
    if "ipykernel.kernelapp" not in sys.modules:  # importing it would cost ~100 ms: not a kernel
        return None
    try:
        from ipykernel.connect import get_connection_file

        m = _KERNEL_FILE.search(os.path.basename(get_connection_file()))
        return m.group(1) if m else None
    except Exception:
        log.debug("no kernel id from the connection file", exc_info=True)
        return None


def running_servers(env=os.environ) -> list[dict]:
    """Like ``jupyter_server.serverapp.list_running_servers`` without importing the server
    (tornado and all) and without deleting stale files: read-only, a few small JSON files."""
    try:
        rt = env.get("JUPYTER_RUNTIME_DIR")
        if not rt:
            from jupyter_core.paths import jupyter_runtime_dir

            rt = jupyter_runtime_dir()
        names = os.listdir(rt)
    except Exception:
        log.debug("no Jupyter runtime dir to list", exc_info=True)
        return []
    out = []
    for name in sorted(names):
        if not re.match(r"(jp|nb)server-.+\.json$", name):
            continue
        try:
            with open(os.path.join(rt, name), encoding="utf-8") as f:
                info = json.load(f)
            if _alive(info.get("pid")):
                out.append(info)
        except Exception:
            log.debug("unreadable server file %s", name, exc_info=True)
            continue
    return out


def _alive(pid) -> bool:
    """Is a server's process running? Signal 0 where there are signals (as psutil does on
    POSIX), psutil elsewhere; True when it cannot tell."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        if os.name == "posix":
            os.kill(pid, 0)
            return True
        import psutil

        return psutil.pid_exists(pid)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    except Exception:
        log.debug("cannot tell whether pid %s is alive; taken as alive", pid, exc_info=True)
        return True


def _resolve_relative(rel: Path, cwd: Path, env) -> list[Path]:
    bases = [cwd, *cwd.parents]
    bases += [Path(s["root_dir"]) for s in running_servers(env) if s.get("root_dir")]
    return [b / rel for b in bases]


def _from_env(env, cwd: Path) -> Path | None:
    name = env.get("JPY_SESSION_NAME") or ""
    if not name.strip():
        return None
    p = Path(name).expanduser()
    if p.is_absolute():
        return p
    for cand in _resolve_relative(p, cwd, env):
        if cand.is_file():
            return cand
    return cwd / p.name  # the kernel's cwd is the notebook's directory


def _looks_like_notebook(p: Path) -> bool:
    return p.suffix.lower() == ".ipynb" or p.is_file()


def _api_lookup(kernel_id: str, env) -> Path | None:
    import http.client
    import ssl

    for info in running_servers(env):
        try:
            if info.get("sock"):
                continue
            u = urlsplit(info.get("url") or "")
            host = u.hostname or ""
            if host not in _LOOPBACK and not host.startswith("127."):
                if str(info.get("ip", "")) not in _WILDCARD:
                    continue  # bound to a specific interface: not ours to call
                host = "127.0.0.1"
            port = u.port or info.get("port")
            conn: http.client.HTTPConnection
            if u.scheme == "https":
                conn = http.client.HTTPSConnection(host, port, timeout=5,
                                                   context=ssl._create_unverified_context())
            else:
                conn = http.client.HTTPConnection(host, port, timeout=5)
            headers = {"Authorization": f"token {info['token']}"} if info.get("token") else {}
            try:
                conn.request("GET", (u.path or "/").rstrip("/") + "/api/sessions", headers=headers)
                resp = conn.getresponse()
                if resp.status != 200:
                    continue
                sessions = json.loads(resp.read(4_000_000))
            finally:
                conn.close()
            root = info.get("root_dir") or info.get("notebook_dir") or ""
            for s in sessions:
                if (s.get("kernel") or {}).get("id") != kernel_id:
                    continue
                path = s.get("path") or (s.get("notebook") or {}).get("path")
                if path and (s.get("type") == "notebook" or path.lower().endswith(".ipynb")):
                    return Path(root) / path
        except Exception:
            log.debug("unusable session list from a server", exc_info=True)
            continue
    return None


def _api_with_timeout(kernel_id: str, env, timeout: float) -> Path | None:
    box: list = []
    t = threading.Thread(target=lambda: box.append(_api_lookup(kernel_id, env)),
                         name="jupyter-carbon-notebook-path", daemon=True)
    t.start()
    t.join(timeout)
    return box[0] if box else None


def notebook_path(*, env=os.environ, user_ns=None, kernel_id=None, sessions_api: bool = True,
                  timeout: float = 0.5, cwd=None) -> tuple[Path | None, str]:
    """``(path, how)``; ``how`` is ``JPY_SESSION_NAME``, ``vscode``, ``sessions-api`` or
    ``unknown``. Never raises; blocks at most about ``timeout`` seconds (only the API call)."""
    try:
        cwd = Path(cwd) if cwd is not None else Path.cwd()
    except Exception:
        log.debug("no current directory", exc_info=True)
        cwd = Path(".")
    found: list[tuple[Path, str]] = []
    try:
        p = _from_env(env, cwd)
        if p is not None and _looks_like_notebook(p):
            found.append((p, "JPY_SESSION_NAME"))
    except Exception:
        log.debug("JPY_SESSION_NAME unusable", exc_info=True)
    try:
        v = (user_ns or {}).get("__vsc_ipynb_file__")
        if v:
            found.append((Path(v), "vscode"))
    except Exception:
        log.debug("VS Code notebook path unusable", exc_info=True)
    for p, how in found:
        try:
            if p.is_file():
                return p.resolve(), how
        except Exception:
            log.debug("cannot check %s", p, exc_info=True)
    if sessions_api:
        try:
            kid = kernel_id or current_kernel_id()
            if kid:
                p = _api_with_timeout(kid, env, timeout)
                if p is not None:
                    return p, "sessions-api"
        except Exception:
            log.debug("the server's sessions API gave no notebook", exc_info=True)
    if found:
        return found[0]
    return None, "unknown"


def log_paths(notebook, kernel_id: str | None, cwd=None) -> tuple[Path, Path, str]:
    """``(csv, samples, note)``: beside the notebook, else ``jupyter-carbon-<kernel>.csv`` in
    the working directory, with a one-line ``note`` saying so (empty when beside a notebook)."""
    if notebook is not None:
        nb = Path(notebook)
        stem = nb.stem if nb.suffix.lower() == ".ipynb" else nb.name
        return (nb.with_name(f"{stem}.carbon.csv"), nb.with_name(f"{stem}.carbon-samples.csv"), "")
    try:
        base = Path(cwd) if cwd is not None else Path.cwd()
    except Exception:
        log.debug("no current directory", exc_info=True)
        base = Path(".")
    stem = f"jupyter-carbon-{kernel_id[:8]}" if kernel_id else "jupyter-carbon"
    csv_path = base / f"{stem}.csv"
    note = (f"jupyter-carbon: notebook path unknown (no JPY_SESSION_NAME, VS Code or server session); "
            f"logging to {csv_path}")
    return csv_path, base / f"{stem}.samples.csv", note


def samples_path_for(csv_path) -> Path:
    """The samples log that goes with a configured cell log: ``x.csv`` -> ``x-samples.csv``."""
    p = Path(csv_path)
    stem = p.name[:-4] if p.name.lower().endswith(".csv") else p.name
    return p.with_name(f"{stem}-samples.csv")


def _show(value: str, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 5] + "...'"


def _name_max(directory: Path) -> int:
    try:
        return int(os.pathconf(directory, "PC_NAME_MAX"))
    except (AttributeError, ValueError, OSError):  # Windows, or a file system that will not say
        return 255


def validate_log_path(value, *, instead: str | None = None, cwd=None) -> Path:
    """A ``log`` setting checked before it is used: the absolute path of a file that can be
    created (or exists) in an existing directory. Otherwise a one-line ConfigError naming the
    value, why, and (given ``instead``) what is used instead. Touches nothing on disk."""
    tail = f"; using {instead} instead" if instead else ""
    raw = "" if value is None else str(value).strip()
    if not raw:
        raise ConfigError(f"log path is empty; give a file name like analysis.carbon.csv{tail}")
    shown = _show(raw)
    if "\x00" in raw:
        raise ConfigError(f"log path {shown} contains a NUL character{tail}")
    if raw.endswith(("/", os.sep, os.altsep or "/")):
        raise ConfigError(f"log path {shown} names a directory, not a file{tail}")
    try:
        base = Path(cwd) if cwd is not None else Path.cwd()
        p = Path(os.path.abspath(base / Path(raw).expanduser()))
    except (OSError, ValueError, RuntimeError) as exc:  # no home directory, cwd gone
        raise ConfigError(f"log path {shown} cannot be resolved ({exc}){tail}") from None
    if Path(raw).name in ("", ".", "..") or p == Path(p.anchor):
        raise ConfigError(f"log path {shown} names a directory, not a file{tail}")
    parent = p.parent
    try:
        limit = _name_max(parent) if parent.is_dir() else 255
    except OSError:
        limit = 255
    for what, name in (("its file name", p.name), ("its samples log's name", samples_path_for(p).name)):
        size = len(os.fsencode(name))
        if size > limit:
            raise ConfigError(f"log path {shown}: {what} is {size} bytes; the file system "
                              f"allows {limit}{tail}")
    try:
        if p.is_dir():
            raise ConfigError(f"log path {shown} is an existing directory, not a file{tail}")
        if p.exists() and not p.is_file():
            raise ConfigError(f"log path {shown} exists and is not a regular file{tail}")
        if not parent.exists():
            raise ConfigError(f"log path {shown}: directory {_show(str(parent))} does not exist{tail}")
        if not parent.is_dir():
            raise ConfigError(f"log path {shown}: {_show(str(parent))} is not a directory{tail}")
    except OSError as exc:  # ENAMETOOLONG from stat, permission on a parent
        raise ConfigError(f"log path {shown} cannot be used ({exc.strerror or exc}){tail}") from None
    return p
