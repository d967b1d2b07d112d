"""Opt-in live grid intensity, fetched on a background thread so a cell never waits on a network.

Nothing here touches the network until a ``LiveIntensity`` is constructed *and* started.
The Electricity Maps token is kept in a wrapper that never prints, is only ever placed in a
request header, and is scrubbed from every error string as a second line of defence.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping

from ..errors import ConfigError
from .model import Intensity

log = logging.getLogger(__name__)

ENV_TOKEN = "JUPYTER_CARBON_ELECTRICITYMAPS_TOKEN"
ELECTRICITYMAPS_URL = "https://api.electricitymaps.com"
GB_GRID_URL = "https://api.carbonintensity.org.uk"
PROVIDERS = ("electricitymaps", "gb-grid")
_MAX_BODY = 1 << 20
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class _Secret:
    """Holds the token; its repr/str never show it, and it refuses to be pickled."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<token hidden>"

    __str__ = __repr__

    def __reduce__(self):  # noqa: D105
        raise TypeError("the token is not picklable")


class LiveError(Exception):
    """A one-line reason a fetch failed (already free of secrets)."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib would forward our headers (the token) to wherever a redirect points.
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102
        return None


def _base_url(url: str, *, has_token: bool) -> str:
    parts = urllib.parse.urlsplit(str(url))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"live provider base URL must be http(s)://host[:port], got {url!r}")
    if has_token and parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise ConfigError("refusing to send the Electricity Maps token over plain http; use https")
    return str(url).rstrip("/")


def _get_json(url: str, headers: dict[str, str], timeout: float) -> object:
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers={"Accept": "application/json",
                                                   "User-Agent": "jupyter-carbon", **headers})
    try:
        with opener.open(request, timeout=timeout) as resp:
            body = resp.read(_MAX_BODY + 1)
    except urllib.error.HTTPError as e:
        hint = " (token missing or rejected)" if e.code in (401, 403) else ""
        raise LiveError(f"HTTP {e.code} {e.reason}{hint}") from None
    except urllib.error.URLError as e:
        reason = e.reason
        if isinstance(reason, TimeoutError):
            raise LiveError(f"timed out after {timeout:g} s") from None
        raise LiveError(f"cannot connect: {reason}") from None
    except TimeoutError:  # socket.timeout is an alias since 3.10
        raise LiveError(f"timed out after {timeout:g} s") from None
    if len(body) > _MAX_BODY:
        raise LiveError("response too large")
    try:
        return json.loads(body)
    except ValueError:
        raise LiveError("malformed JSON in response") from None


def _grams(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 2000:
        raise LiveError(f"implausible intensity in response: {value!r}")
    return float(value)


def _country_name(iso2: str) -> str | None:
    from .table import lookup_country  # the worker thread pays for the table, not the caller

    try:
        return lookup_country(iso2).name
    except ConfigError:
        return None


def _default_zone(env: Mapping[str, str]) -> str:
    """The country (setting/env/time zone) as an Electricity Maps zone; reads files, no network."""
    from .location import choose_country
    from .table import lookup_country

    guess = choose_country(None, env)
    if guess is None:
        raise ConfigError("Electricity Maps needs a zone (e.g. FR, US-CAL-CISO): pass zone= "
                          "or set JUPYTER_CARBON_COUNTRY")
    return lookup_country(guess.country).iso2


class ElectricityMaps:
    """``GET /v3/carbon-intensity/latest?zone=XX`` with header ``auth-token`` (lifecycle g/kWh)."""

    name = "electricitymaps"

    def __init__(self, zone: str, token: str, base_url: str = ELECTRICITYMAPS_URL) -> None:
        zone = str(zone or "").strip()
        if not zone or not all(ch.isalnum() or ch == "-" for ch in zone):
            raise ConfigError(f"Electricity Maps zone must look like FR or US-CAL-CISO, got {zone!r}")
        if not token:
            raise ConfigError(f"Electricity Maps needs a token: set {ENV_TOKEN}")
        self.zone = zone.upper()
        self._token = _Secret(str(token))
        self.base_url = _base_url(base_url, has_token=True)

    def redact(self, text: str) -> str:
        secret = self._token.reveal()
        return text.replace(secret, "***") if secret else text

    def fetch(self, timeout: float) -> Intensity:
        query = urllib.parse.urlencode({"zone": self.zone})
        url = f"{self.base_url}/v3/carbon-intensity/latest?{query}"
        data = _get_json(url, {"auth-token": self._token.reveal()}, timeout)
        if not isinstance(data, dict) or "carbonIntensity" not in data:
            raise LiveError("unexpected response: no carbonIntensity")
        iso = self.zone.split("-", 1)[0]
        return Intensity(_grams(data["carbonIntensity"]), f"live:{self.name}", iso,
                         _country_name(iso), self.zone if "-" in self.zone else None)

    def __repr__(self) -> str:
        return f"ElectricityMaps(zone={self.zone!r}, base_url={self.base_url!r})"


class GBGrid:
    """GB's public Carbon Intensity API (NESO): national, or a region id (1-17) or postcode."""

    name = "gb-grid"

    def __init__(self, base_url: str = GB_GRID_URL, *, region_id: int | None = None,
                 postcode: str | None = None) -> None:
        self.base_url = _base_url(base_url, has_token=False)
        if region_id is not None and postcode is not None:
            raise ConfigError("GB grid: give region_id or postcode, not both")
        if region_id is not None and (isinstance(region_id, bool) or not isinstance(region_id, int)
                                      or not 1 <= region_id <= 17):
            raise ConfigError(f"GB grid region_id must be an integer 1-17, got {region_id!r}")
        if postcode is not None:
            postcode = str(postcode).strip().upper()
            if not postcode.isalnum() or not 2 <= len(postcode) <= 4:
                raise ConfigError(f"GB grid postcode must be an outward code like RG10, got {postcode!r}")
        self.region_id, self.postcode = region_id, postcode

    def redact(self, text: str) -> str:
        return text

    def fetch(self, timeout: float) -> Intensity:
        path = "/intensity"
        if self.region_id is not None:
            path = f"/regional/regionid/{self.region_id}"
        elif self.postcode is not None:
            path = f"/regional/postcode/{self.postcode}"
        data = _get_json(self.base_url + path, {}, timeout)
        try:
            entry = data["data"]  # type: ignore[index]
            entry = entry[0] if isinstance(entry, list) else entry
            region = None
            if "intensity" not in entry and "data" in entry:  # regional: one more level
                region = entry.get("shortname")
                entry = entry["data"][0] if isinstance(entry["data"], list) else entry["data"]
            block = entry["intensity"]
            value = block.get("actual")
            if value is None:
                value = block.get("forecast")
        except (KeyError, IndexError, TypeError, AttributeError):
            raise LiveError("unexpected response: no data[0].intensity") from None
        return Intensity(_grams(value), f"live:{self.name}", "GB", _country_name("GB"),
                         str(region) if region else None)

    def __repr__(self) -> str:
        return f"GBGrid(base_url={self.base_url!r}, region_id={self.region_id!r}, postcode={self.postcode!r})"


class LiveIntensity:
    """A cached live intensity, refreshed every ``refresh_s`` by one daemon thread.

    ``current()`` never blocks: it returns the last good value (kept across failures) or
    None. ``last_error`` is a one-line reason for the latest failed fetch (None after a
    success).
    """

    def __init__(self, provider: str = "electricitymaps", *, zone: str | None = None,
                 token: str | None = None, env: Mapping[str, str] | None = None,
                 base_url: str | None = None, region_id: int | None = None,
                 postcode: str | None = None, timeout_s: float = 3.0,
                 refresh_s: float = 900.0, retry_s: float = 60.0) -> None:
        for label, value in (("timeout_s", timeout_s), ("refresh_s", refresh_s), ("retry_s", retry_s)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ConfigError(f"live intensity {label} must be a number > 0, got {value!r}")
        if provider == "electricitymaps":
            env = os.environ if env is None else env
            self._provider: ElectricityMaps | GBGrid = ElectricityMaps(
                zone or _default_zone(env), token or env.get(ENV_TOKEN, ""),
                base_url or ELECTRICITYMAPS_URL)
        elif provider == "gb-grid":
            self._provider = GBGrid(base_url or GB_GRID_URL, region_id=region_id, postcode=postcode)
        else:
            raise ConfigError(f"unknown live provider {provider!r}; accepted: {', '.join(PROVIDERS)}")
        self.provider = provider
        self.timeout_s, self.refresh_s, self.retry_s = float(timeout_s), float(refresh_s), float(retry_s)
        self._value: Intensity | None = None
        self._error: str | None = None
        self._last_success: float | None = None
        self._fetches = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._changed = threading.Condition()

    # -- caller side: all O(1), nothing here waits on the network --------------------------
    def start(self) -> LiveIntensity:
        """Launch the refresh thread (idempotent); returns at once."""
        if self._thread is not None and self._thread.is_alive():
            return self
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self._stop,),
                                        name=f"jupyter-carbon-live-{self.provider}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 1.0) -> bool:
        """Ask the thread to end; True if it did within ``timeout``.

        A fetch already in flight cannot be interrupted, so the daemon thread may outlive this
        call by up to ``timeout_s``; it stores nothing once stopped.
        """
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def current(self) -> Intensity | None:
        return self._value

    @property
    def last_error(self) -> str | None:
        return self._error

    @property
    def last_success(self) -> float | None:
        """``time.time()`` of the last good fetch, to judge staleness."""
        return self._last_success

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def wait(self, timeout: float) -> Intensity | None:
        """Block until a first value or error arrives (scripts and tests; not the kernel)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._value is None and self._error is None and not self._stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
        return self._value

    def __repr__(self) -> str:
        value = None if self._value is None else self._value.g_per_kwh
        return (f"LiveIntensity({self._provider!r}, running={self.running}, "
                f"value={value!r}, last_error={self._error!r})")

    # -- worker thread ----------------------------------------------------------------------
    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            ok = self._refresh(stop)
            if stop.wait(self.refresh_s if ok else min(self.retry_s, self.refresh_s)):
                break

    def _refresh(self, stop: threading.Event) -> bool:
        try:
            value = self._provider.fetch(self.timeout_s)
        except Exception as e:  # noqa: BLE001 - any failure keeps the last good value
            text = str(e) if isinstance(e, (LiveError, ConfigError)) else f"{type(e).__name__}: {e}"
            message = self._provider.redact(" ".join(text.split()))[:200]
            if stop.is_set():
                return False
            self._error = f"{self.provider}: {message}"
            log.debug("live intensity fetch failed: %s", self._error)
            self._notify()
            return False
        if stop.is_set():
            return False
        self._value, self._error, self._last_success = value, None, time.time()
        self._fetches += 1
        self._notify()
        return True

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()
