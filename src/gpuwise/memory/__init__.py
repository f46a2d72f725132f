"""The analytic memory of the reference step (docs/reference-step.md), one module per part:
weights, optimizer states, activation terms, the KV cache, the training and prefill peaks, the
per-card peak of a multi-card job, and what a card needs beyond the peak (docs/memory-model.md)."""
