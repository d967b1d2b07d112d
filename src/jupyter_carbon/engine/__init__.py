"""Measurement engine: channels, the sampler thread, the meter and its windows.

It knows energy only: no grid intensity, no output. ``jupyter_carbon.measurement`` adds CO₂e.
"""
from .energy import ComponentEnergy, DeviceEnergy, Energy
from .meter import Meter
from .sample import Sample
from .sampler import Sampler, check_interval
from .window import Window

__all__ = ["ComponentEnergy", "DeviceEnergy", "Energy", "Meter", "Sample", "Sampler", "Window",
           "check_interval"]
