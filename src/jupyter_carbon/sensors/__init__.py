"""Sensors: one device each, reporting cumulative joules and watts."""
