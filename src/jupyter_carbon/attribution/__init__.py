"""This kernel's share of the machine (``tracking_mode=kernel``) and of its embodied emissions.

``tree`` follows the kernel's process tree, ``machine`` reads the machine's totals, ``gpu``
asks NVML who uses each GPU, ``share`` turns them into per-component shares at window edges,
``embodied`` amortises the hardware's manufacturing emissions. The rules are in
docs/attribution.md (README: "What a cell is charged").
"""
