"""The classic MNIST example: NumPy from scratch and PyTorch, with timings (``gpuwise mnist``).

NumPy and scikit-learn come with ``pip install 'gpuwise[mnist]'``; torch only for the PyTorch run.
Nothing here imports them until a run needs them.
"""

from __future__ import annotations

from gpuwise.mnist.run import Options, run_mnist

__all__ = ["Options", "run_mnist"]
