"""Time, throughput and energy: FLOPs from the model's shapes, rates from the card, efficiencies
from ``data/efficiency.json`` (each with its source or named as an assumption). No torch."""

from gpuwise.timing.estimate import (
    InferTime,
    TrainTime,
    bandwidth_efficiency,
    decode_weight_bytes,
    efficiency,
    energy_kwh,
    infer_time,
    train_time,
)
from gpuwise.timing.flops import (
    ForwardFlops,
    TrainFlops,
    decode_flops,
    forward_flops,
    prefill_flops,
    train_flops_per_token,
)
from gpuwise.timing.rates import Rate, matmul_rate

__all__ = [
    "ForwardFlops",
    "InferTime",
    "Rate",
    "TrainFlops",
    "TrainTime",
    "bandwidth_efficiency",
    "decode_flops",
    "decode_weight_bytes",
    "efficiency",
    "energy_kwh",
    "forward_flops",
    "infer_time",
    "matmul_rate",
    "prefill_flops",
    "train_flops_per_token",
    "train_time",
]
