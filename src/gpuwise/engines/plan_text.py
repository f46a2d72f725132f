"""plan.txt: what the emitted files set up, in words a user checks before launching."""

from __future__ import annotations

from gpuwise.engines.deepspeed_config import precision_meaning
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.parallel.zero_buffers import deepspeed_buffers
from gpuwise.units import gib
from gpuwise.workload import Workload


def plan_txt(
    spec: ModelSpec, w: Workload, p: Parallel, model_ref: str, host_ram_bytes: int | None
) -> str:
    lines = [
        f"gpuwise launch plan for {spec.name} ({spec.model_type}), model: {model_ref}",
        "",
        f"strategy        {p.strategy}: {p.description}",
        f"engine          {'DeepSpeed' if p.engine == 'deepspeed' else 'PyTorch'}"
        " via accelerate launch",
        f"gpus            {p.gpus} (one machine)",
        f"micro-batch     {w.batch} sequence(s) of {w.seq} tokens per GPU",
        f"grad accum      {p.grad_accum}",
        f"global batch    {w.batch * p.global_batch_factor} sequences per optimizer step "
        f"({w.batch} x {p.gpus} GPUs x {p.grad_accum})",
        f"method          {w.method}"
        + (f" (rank {w.lora_rank}, alpha {2 * w.lora_rank})" if w.is_lora else ""),
        f"precision       {w.precision}",
        f"optimizer       {w.optimizer}",
        f"grad ckpt       {'on (non-reentrant)' if w.grad_checkpointing else 'off'}",
    ]
    if p.strategy == "fsdp-hybrid":
        lines.append(
            f"shard groups    {p.gpus // p.shard_group} groups of {p.shard_group} GPUs "
            "(sharded within a group, replicated across)"
        )
    if p.offloads("weights") or p.offloads("optimizer"):
        what = [k for k in ("weights", "gradients", "optimizer") if p.offloads(k)]
        ram = (
            f"{gib(host_ram_bytes)} ({host_ram_bytes:,} bytes)"
            if host_ram_bytes is not None
            else "not computed for this plan"
        )
        lines.append(f"host RAM        {ram} needed for the offloaded {', '.join(what)}")
    lines.append(f"model load      {_load_ram(spec, w, p)}")
    if p.engine == "deepspeed":
        lines.append(f"ds precision    {precision_meaning(w)}")
        if p.offloads("optimizer"):
            lines.append(
                "ds optimizer    accelerate replaces the torch optimizer with DeepSpeedCPUAdam "
                "(CPU step)"
            )
        buffers = ", ".join(f"{k}={v:,}" for k, v in deepspeed_buffers(spec, p).items())
        lines.append(f"ds buffers      {buffers} (elements)")
    lines += [
        "",
        "files           launch.sh (run this), accelerate_config.yaml"
        + (", ds_config.json" if p.engine == "deepspeed" else "")
        + ", train.py (synthetic data: replace batches() with yours)",
    ]
    return "\n".join(lines) + "\n"


def _load_ram(spec: ModelSpec, w: Workload, p: Parallel) -> str:
    """Host RAM the processes need to load the model before it reaches the cards (train.py
    loads in LOAD_DTYPE; QLoRA quantizes while loading the 16-bit checkpoint)."""
    elem = 4 if w.amp or w.precision == "fp32" else 2
    one = spec.params * elem
    if p.strategy.startswith("fsdp"):
        return (
            f"process 0 reads the checkpoint (fsdp_cpu_ram_efficient_loading), about {gib(one)} "
            "of host RAM; the others start empty"
        )
    if p.zero_stage == 3:
        return (
            f"built partitioned (zero3_init_flag): about {gib(one // p.gpus)} of host RAM per "
            "process"
        )
    total = f", {gib(one * p.gpus)} in all" if p.gpus > 1 else ""
    return f"each process loads the whole model first: about {gib(one)} of host RAM{total}"
