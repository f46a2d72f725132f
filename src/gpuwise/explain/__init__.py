"""``gpuwise explain``: the numbers of a plan, walked through in the order a beginner learns them.

1. parameters from the shapes (:mod:`~gpuwise.explain.params`);
2. bytes per parameter: weights, gradients, optimizer states (:mod:`~gpuwise.explain.state`);
3. activations (and, for inference, the KV cache) (:mod:`~gpuwise.explain.activations`);
4. the CUDA context, the allocator and the total against the card (:mod:`~gpuwise.explain.total`);
5. FLOPs, the card's rate, the efficiency assumed and the time (:mod:`~gpuwise.explain.flops`);
6. GB versus GiB (:mod:`~gpuwise.explain.units`).

Explain computes nothing of its own: every figure is read from the plan
(:func:`gpuwise.plan.make_plan`) or from the functions the plan is made of, and arranged with
its formula. :func:`~gpuwise.explain.walk.explain` builds the :class:`Explanation`.
"""

from __future__ import annotations
