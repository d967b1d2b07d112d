"""Synchronise the GPUs this kernel has already initialised, before a window's end snapshot,
so asynchronous GPU work lands in the cell that launched it (as Zeus does at its windows).

Never imports or initialises a framework: only frameworks already in ``sys.modules`` that
report CUDA initialised are asked (PyTorch: ``torch.cuda.is_initialized()``; CuPy: its
memory pool holds memory; JAX: a GPU backend exists). When nothing is initialised the cost is
a few dictionary look-ups.
"""
from __future__ import annotations

import logging
import sys
from typing import Any

log = logging.getLogger(__name__)


def sync_devices() -> bool:
    """Wait for every device the kernel's frameworks use; True if one was synchronised."""
    mods = sys.modules
    synced = False
    torch = mods.get("torch")
    if torch is not None:
        synced |= _torch(torch)
    cupy = mods.get("cupy")
    if cupy is not None:
        synced |= _cupy(cupy)
    if "jax" in mods:
        synced |= _jax(mods["jax"])
    return synced


def cuda_active() -> bool:
    """Whether a framework of this kernel has initialised CUDA (nothing is initialised here)."""
    torch = sys.modules.get("torch")
    try:
        return bool(torch is not None and torch.cuda.is_initialized())
    except Exception:
        log.debug("torch.cuda.is_initialized failed", exc_info=True)
        return False


def _torch(torch: Any) -> bool:
    try:
        cuda = getattr(torch, "cuda", None)
        if cuda is None or not cuda.is_initialized():
            return False
        has_context = getattr(getattr(torch, "_C", None), "_cuda_hasPrimaryContext", None)
        if has_context is None:
            cuda.synchronize()  # the current device
            return True
        for i in range(cuda.device_count()):
            if has_context(i):  # a device this kernel never touched gets no new context
                cuda.synchronize(i)
        return True
    except Exception:
        log.debug("torch synchronise failed", exc_info=True)
        return False


def _cupy(cupy: Any) -> bool:
    try:
        pool = cupy.get_default_memory_pool()
        if not pool.total_bytes():  # CuPy has allocated nothing: no work can be pending
            return False
        cupy.cuda.runtime.deviceSynchronize()
        return True
    except Exception:
        log.debug("cupy synchronise failed", exc_info=True)
        return False


def _jax(jax: Any) -> bool:
    try:
        backends = getattr(sys.modules.get("jax._src.xla_bridge"), "_backends", None)
        if not backends or not any(k in backends for k in ("cuda", "gpu", "rocm")):
            return False
        for a in jax.live_arrays():
            a.block_until_ready()
        return True
    except Exception:
        log.debug("jax synchronise failed", exc_info=True)
        return False
