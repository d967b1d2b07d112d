"""Subscribers to the session's events, one output each: the per-cell CSV, the samples
CSV, the footprint printer (and ``%%carbon``'s live line). The widget (``widget/``), the
front-end comm (``frontend/``) and the cluster collector (``cluster/``) are subscribers too.
"""
