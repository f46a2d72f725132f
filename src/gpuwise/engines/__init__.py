"""The plan's real launch files: accelerate config, DeepSpeed JSON, launch command, train.py.

Text only: this package never imports torch, accelerate or DeepSpeed (the tests load what it
writes with the real libraries). See docs/launch.md.
"""

from __future__ import annotations

from gpuwise.engines.emit import launch_files, write_launch_files

__all__ = ["launch_files", "write_launch_files"]
