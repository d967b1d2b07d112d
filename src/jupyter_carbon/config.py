"""Settings with a visible pedigree.

Precedence (highest first): per-cell option > ``%carbon config`` > ``JUPYTER_CARBON_*``
environment variables > traitlets config (``c.CarbonConfig.<name>`` in an IPython
profile) > defaults. ``Settings.source(name)`` says which layer a value came from, so
``%carbon config`` can show it.
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from traitlets import Bool, CFloat, Unicode
from traitlets.config import Configurable

from .engine.sampler import check_interval
from .errors import ConfigError

ENV_PREFIX = "JUPYTER_CARBON_"
LAYERS = ("default", "profile", "env", "config")  # lowest to highest; per-cell sits above


def _bool(v) -> bool:
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"expected true/false (or 1/0, yes/no, on/off), got {v!r}")


def _float_range(lo: float, hi: float, what: str) -> Callable[[Any], float]:
    def parse(v) -> float:
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise ConfigError(f"{what} must be a number between {lo:g} and {hi:g}, got {v!r}") from None
        if not (lo <= x <= hi) or math.isnan(x):
            raise ConfigError(f"{what} must be between {lo:g} and {hi:g}, got {x:g}")
        return x
    return parse


def _optional(parse):
    def p(v):
        if v is None or (isinstance(v, str) and v.strip().lower() in ("", "none", "auto")):
            return None
        return parse(v)
    return p


def _choice(*choices):
    def parse(v):
        s = str(v).strip().lower()
        if s not in choices:
            raise ConfigError(f"expected one of {', '.join(choices)}, got {v!r}")
        return s
    return parse


def _embodied(v) -> str:
    """on / off, or the machine's total embodied emissions in kg CO₂e (kept as text)."""
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "on", "auto", ""):
        return "on"
    if s in ("0", "false", "no", "off", "none"):
        return "off"
    return format(_float_range(0, 1e7, "embodied (kg CO₂e)")(s), "g")


def _text(v) -> str:
    return str(v).strip()


_MAX_LABEL = 200


def _label(v) -> str:
    """Free text (labels, project names): printable, one line, at most 200 characters."""
    s = str(v).strip()
    if len(s) > _MAX_LABEL:
        raise ConfigError(f"must be at most {_MAX_LABEL} characters, got {len(s)}")
    if any(not ch.isprintable() for ch in s):
        raise ConfigError(f"must be one line of printable text, got {s[:40]!r}")
    return s


def _region(v) -> str:
    from .intensity.validate import validate_region

    return validate_region(v)


def _log_path(v) -> str:
    from .log.paths import validate_log_path

    return str(validate_log_path(str(v).strip()))


def _country(v):
    from .intensity.validate import validate_country

    return validate_country(v)  # ConfigError naming the value, with a suggestion


def _intensity(v):
    from .intensity import validate_intensity

    return validate_intensity(v)


def _pue(v):
    from .intensity import validate_pue

    return validate_pue(v)


class Option(NamedTuple):
    """One setting, declared once: its default, its parser, its help, and the traitlets type
    an IPython profile sets it with (``c.CarbonConfig.<name>``)."""

    name: str
    default: Any
    parse: Callable[[Any], Any]
    help: str
    trait: type = Unicode

    def make_trait(self) -> Any:
        if self.trait is Unicode or self.default is None:
            return self.trait(self.default, allow_none=True, help=self.help).tag(config=True)
        return self.trait(self.default, help=self.help).tag(config=True)


OPTIONS: dict[str, Option] = {o.name: o for o in [
    Option("interval", 1.0, check_interval, "sampling interval in seconds (0.05-60)", CFloat),
    Option("country", None, _optional(_country), "ISO country code or name for the grid intensity"),
    Option("region", None, _optional(_region), "sub-national region code, e.g. US-CA"),
    Option("intensity", None, _optional(_intensity), "explicit grid intensity, g CO₂e/kWh", CFloat),
    Option("pue", 1.0, _pue, "power usage effectiveness of the data centre (>= 1)", CFloat),
    Option("live", None, _optional(_choice("electricitymaps", "gb-grid")),
           "live intensity provider: electricitymaps (token in JUPYTER_CARBON_ELECTRICITYMAPS_TOKEN) or gb-grid"),
    Option("zone", None, _optional(_text), "Electricity Maps zone for the live provider, e.g. US-CAL-CISO "
           "(default: the country)"),
    Option("log", None, _optional(_log_path), "CSV log path (default: <notebook>.carbon.csv beside the notebook)"),
    Option("samples", True, _bool, "also write the power time series to <notebook>.carbon-samples.csv", Bool),
    Option("summary_threshold", 60.0, _float_range(0, 1e9, "summary_threshold"),
           "print a one-line footprint after cells running at least this many seconds (0: every cell)", CFloat),
    Option("widget", True, _bool, "show the live widget on %load_ext", Bool),
    Option("gpu", True, _bool, "measure NVIDIA GPUs through NVML", Bool),
    Option("cpu_tdp", None, _optional(_float_range(1, 2000, "cpu_tdp")),
           "CPU TDP in watts for the CPU model (default: looked up from the CPU name)", CFloat),
    Option("ram_w_per_gb", 3.0 / 8.0, _float_range(0, 10, "ram_w_per_gb"), "RAM model power per GB", CFloat),
    Option("tracking_mode", "kernel", _choice("kernel", "machine", "process"),
           "kernel: the machine's energy split by this kernel's process tree's share (CPU time, memory, "
           "GPU use); machine: the whole machine; process: this process alone (models only)"),
    Option("gpu_sync", True, _bool, "synchronise the GPUs the kernel initialised before a cell's end "
           "snapshot, so asynchronous GPU work lands in the cell that launched it", Bool),
    Option("embodied", "on", _embodied, "per-cell share of the hardware's manufacturing emissions "
           "(embodied_emissions column): on, off, or this machine's total in kg CO₂e"),
    Option("project_name", "jupyter-carbon", _label, "project_name column of the CSV"),
]}

# Changing these needs the sensors discovered again (done between cells).
SENSOR_OPTIONS = frozenset({"gpu", "cpu_tdp", "ram_w_per_gb", "tracking_mode"})

#: IPython profile configuration, e.g. ``c.CarbonConfig.interval = 0.5``: one trait per option.
CarbonConfig = type("CarbonConfig", (Configurable,), {
    "__doc__": "jupyter-carbon settings in an IPython profile (``c.CarbonConfig.<name>``).",
    **{name: opt.make_trait() for name, opt in OPTIONS.items()},
})


class Settings:
    """The layered settings of one session; ``problems`` lists ignored bad values."""

    def __init__(self, profile_config=None, env: Mapping[str, str] | None = None):
        env = os.environ if env is None else env
        self._bad: list[tuple[str, str, Any, ConfigError]] = []  # (key, where, raw value, why)
        self._layers: dict[str, dict[str, Any]] = {
            "default": {k: o.default for k, o in OPTIONS.items()},
            "profile": self._from_profile(profile_config),
            "env": self._from_env(env),
            "config": {},
        }
        self._merged: dict[str, Any] = {}  # what wins per key; made anew at each change
        self._merge()
        #: One line per ignored bad value: the setting, the value, why, and what is used instead.
        self.problems = [self._problem(*bad) for bad in self._bad]

    def _from_profile(self, cfg) -> dict[str, Any]:
        out: dict[str, Any] = {}
        section = getattr(cfg, "CarbonConfig", None) if cfg is not None else None
        if not section:
            return out
        for key in OPTIONS:
            if key in section:
                self._try(out, key, section[key], f"c.CarbonConfig.{key}")
        return out

    def _from_env(self, env: Mapping[str, str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in OPTIONS:
            var = ENV_PREFIX + key.upper()
            if var in env:
                self._try(out, key, env[var], var)
        return out

    def _try(self, out, key, raw, where) -> None:
        try:
            out[key] = OPTIONS[key].parse(raw)
        except ConfigError as exc:
            self._bad.append((key, where, raw, exc))

    def _problem(self, key: str, where: str, raw: Any, exc: ConfigError) -> str:
        value, source = self[key], self.source(key)
        used = "automatic" if value is None else repr(value)
        shown = repr(raw) if len(repr(raw)) <= 60 else repr(raw)[:57] + "..."
        return f"ignoring {where}={shown}: {exc}; using {used} ({source}) instead"

    def _merge(self) -> None:
        merged: dict[str, Any] = {}
        for layer in LAYERS:  # later layers win
            merged.update(self._layers[layer])
        self._merged = merged

    def __getitem__(self, key: str) -> Any:
        return self._merged[key]  # read at every cell end: one lookup

    def source(self, key: str) -> str:
        for layer in reversed(LAYERS):
            if key in self._layers[layer]:
                return {"config": "%carbon config", "env": ENV_PREFIX + key.upper(),
                        "profile": f"c.CarbonConfig.{key}", "default": "default"}[layer]
        raise KeyError(key)

    def set(self, key: str, raw: Any) -> Any:
        """Validate and set at the ``%carbon config`` layer; raises ConfigError."""
        if key not in OPTIONS:
            import difflib

            close = difflib.get_close_matches(key, OPTIONS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(f"unknown setting {key!r}{hint}; settings: {', '.join(OPTIONS)}")
        value = OPTIONS[key].parse(raw)
        self._layers["config"][key] = value
        self._merge()
        return value

    def reset(self, key: str) -> None:
        self._layers["config"].pop(key, None)
        self._merge()

    def table(self) -> list[tuple[str, Any, str]]:
        return [(k, self[k], self.source(k)) for k in OPTIONS]
