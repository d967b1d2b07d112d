"""The live intensity providers (Electricity Maps, GB's Carbon Intensity API) and the HTTP
helper they share: one request, short timeouts, no redirects, and a token that never shows.

The Electricity Maps token is stripped of surrounding whitespace (a token read from a file
keeps its newline, which ``http.client`` would echo in an error), refused if it still holds
characters a header cannot carry, kept in a wrapper that never prints, only ever placed in a
request header, and scrubbed in every form (raw, repr, bytes repr, URL-encoded, base64) from
every message the provider produces.
"""
from __future__ import annotations

import base64
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping

from ..errors import ConfigError
from .model import Intensity
from .text import shown

log = logging.getLogger(__name__)

ENV_TOKEN = "JUPYTER_CARBON_ELECTRICITYMAPS_TOKEN"
ELECTRICITYMAPS_URL = "https://api.electricitymaps.com"
GB_GRID_URL = "https://api.carbonintensity.org.uk"
# Base URLs can be pointed elsewhere (a test server, a proxy of the same API); the token is
# still only sent over https, or plain http to this machine.
ENV_URL = {"electricitymaps": "JUPYTER_CARBON_ELECTRICITYMAPS_URL",
           "gb-grid": "JUPYTER_CARBON_GB_GRID_URL"}
PROVIDERS = ("electricitymaps", "gb-grid")
_MAX_BODY = 1 << 20
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class _Secret:
    """Holds the token; its repr/str never show it, and it refuses to be pickled."""

    __slots__ = ("_value", "_forms")

    def __init__(self, value: str, raw: str | None = None) -> None:
        self._value = value
        self._forms = _forms(value) | (_forms(raw) if raw and raw != value else set())

    def reveal(self) -> str:
        return self._value

    def redact(self, text: str) -> str:
        """``text`` with every form of the token replaced by ``***``."""
        for form in sorted(self._forms, key=len, reverse=True):
            if form in text:
                text = text.replace(form, "***")
        return text

    def __repr__(self) -> str:
        return "<token hidden>"

    __str__ = __repr__

    def __reduce__(self):  # noqa: D105
        raise TypeError("the token is not picklable")


def _forms(value: str) -> set[str]:
    """The ways a token can show up in a message: as is, as Python would print it inside a str
    or bytes repr, percent-encoded, base64 (a Basic auth header)."""
    data = value.encode("utf-8", "backslashreplace")
    forms = {value, repr(value)[1:-1], repr(data)[2:-1], urllib.parse.quote(value, safe=""),
             urllib.parse.quote_plus(value), base64.b64encode(data).decode("ascii")}
    return {f for f in forms if f}


def _clean_token(token: object) -> tuple[str, str]:
    """(token, as given): surrounding whitespace stripped; ConfigError (never showing the
    value) if what is left cannot be a header value."""
    raw = str(token)
    value = raw.strip()
    if not value:
        raise ConfigError(f"Electricity Maps needs a token: set {ENV_TOKEN}")
    if not all(33 <= ord(ch) <= 126 for ch in value):
        raise ConfigError(f"the Electricity Maps token ({ENV_TOKEN}) holds spaces, control or "
                          "non-ASCII characters; a token is one word of printable ASCII")
    return value, raw


class LiveError(Exception):
    """A one-line reason a fetch failed (already free of secrets)."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib would forward our headers (the token) to wherever a redirect points.
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102
        return None


def _base_url(url: str, *, has_token: bool) -> str:
    parts = urllib.parse.urlsplit(str(url))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"live provider base URL must be http(s)://host[:port], got {shown(url)}")
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
        raise LiveError(f"implausible intensity in response: {shown(value)}")
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
            raise ConfigError(f"Electricity Maps zone must look like FR or US-CAL-CISO, got {shown(zone)}")
        if not token:
            raise ConfigError(f"Electricity Maps needs a token: set {ENV_TOKEN}")
        self.zone = zone.upper()
        self._token = _Secret(*_clean_token(token))
        self.base_url = _base_url(base_url, has_token=True)

    def redact(self, text: str) -> str:
        return self._token.redact(text)

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
            raise ConfigError(f"GB grid region_id must be an integer 1-17, got {shown(region_id)}")
        if postcode is not None:
            postcode = str(postcode).strip().upper()
            if not postcode.isalnum() or not 2 <= len(postcode) <= 4:
                raise ConfigError(f"GB grid postcode must be an outward code like RG10, got {shown(postcode)}")
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


