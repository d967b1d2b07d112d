"""Measurement engine: channels, the sampler thread, the meter and its windows."""
from .measurement import ComponentEnergy, DeviceEnergy, Measurement
from .meter import Meter, Window
from .sample import Sample
from .sampler import Sampler, check_interval

__all__ = ["ComponentEnergy", "DeviceEnergy", "Measurement", "Meter", "Sample", "Sampler",
           "Window", "check_interval"]
