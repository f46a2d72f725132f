"""Inference as llama.cpp and Ollama run it (``plan --task infer --engine llama.cpp|ollama``).

- :mod:`gpuwise.infer.engine`: which engine a plan describes and its settings (GGUF weight
  type, KV cache type, GPU layers, ubatch, flash attention, host bandwidth), checked;
- :mod:`gpuwise.infer.memory`: the memory llama.cpp allocates on the card and in host RAM for
  a number of GPU layers, and the most layers that fit;
- :mod:`gpuwise.infer.speed`: decode and prefill tokens per second from bandwidth and the
  tensor rate, at efficiencies calibrated on published llama-bench rows;
- :mod:`gpuwise.infer.card`: one card's llama.cpp plan (layers, memory, speed).

Rules and constants are in ``data/llamacpp.json`` and ``data/speed.json``, each with its source.
"""
