"""The intensity rules of one session: explicit > live provider > country table > world
average, with per-cell overrides, and the live provider's lifecycle.

Settings are read at each call, so a ``%carbon config`` change applies to the next figure;
a table lookup is cached per (value, country, region) because it runs at every cell end.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ConfigError
from .model import Intensity
from .resolver import describe, resolve, resolve_detailed

if TYPE_CHECKING:
    from .live import LiveIntensity

log = logging.getLogger(__name__)

# The settings have already read (and checked) JUPYTER_CARBON_COUNTRY and _REGION: the
# resolver must not read them again behind the settings' back.
_ENV: dict[str, str] = {}


class CellOverrides(Protocol):
    """What a ``%%carbon`` cell may override (``cells.CellOptions``), read only."""

    @property
    def country(self) -> str | None: ...

    @property
    def intensity(self) -> float | None: ...

    @property
    def pue(self) -> float | None: ...


class IntensityPolicy:
    def __init__(self, settings: Any, say_once: Callable[[str], None]):
        self.settings = settings
        self.say_once = say_once
        self._live: LiveIntensity | None = None
        self._live_key: tuple | None = None
        self._cache: tuple | None = None

    def for_cell(self, opts: CellOverrides | None = None) -> Intensity:
        s = self.settings
        explicit = opts.intensity if opts and opts.intensity is not None else s["intensity"]
        country = opts.country if opts and opts.country else s["country"]
        key = (explicit, country, s["region"], s["live"])
        live = self.live_provider() if key[3] is not None or self._live is not None else None
        if live is None and self._cache and self._cache[0] == key:
            return self._cache[1]
        value = resolve(intensity=explicit, country=country, region=s["region"], live=live, env=_ENV)
        if live is None:
            self._cache = (key, value)
        return value

    def pue_for(self, opts: CellOverrides | None = None) -> float:
        return opts.pue if opts and opts.pue is not None else self.settings["pue"]

    def changed(self) -> None:
        """A setting changed: forget the cached figure (the provider follows at next use)."""
        self._cache = None

    def live_provider(self) -> LiveIntensity | None:
        """The started live provider when one is configured; a bad setup is said once."""
        s = self.settings
        name = s["live"]
        want = None if name is None else (name, s["zone"] or s["country"])
        if self._live is not None and (want is None or self._live_key != want):
            self._live.stop()
            self._live = None
        if want is None or self._live is not None:
            return self._live
        from .live import LiveIntensity

        try:
            self._live = LiveIntensity(name, zone=want[1]).start()
            self._live_key = want
        except ConfigError as exc:
            self.say_once(f"live intensity off: {exc}")
            self.settings.reset("live")
        return self._live

    def line(self) -> str:
        """``56 g CO₂e/kWh (FR from time zone Europe/Paris, table:Ember/OWID 2023)``"""
        s = self.settings
        try:
            r = resolve_detailed(intensity=s["intensity"], country=s["country"], region=s["region"],
                                 live=self.live_provider(), env=_ENV)
            line = describe(r.intensity, via=r.country_via)
            if r.notes:
                line += " · " + "; ".join(r.notes)
        except Exception:
            log.debug("intensity resolution failed; describing the cached figure", exc_info=True)
            line = describe(self.for_cell())
        live = self._live
        if live is not None and live.last_error:
            line += f" · live provider: {live.last_error}"
        return line

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
