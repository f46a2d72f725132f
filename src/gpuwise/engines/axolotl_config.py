"""axolotl.yaml: the plan as an axolotl config, for ``axolotl train axolotl.yaml`` (keys of
axolotl's pydantic schema, ``src/axolotl/utils/schemas/``; tests validate it with
``axolotl.utils.config.validate_config``)."""

from __future__ import annotations

from gpuwise.engines.accelerate_config import DS_CONFIG_FILE
from gpuwise.engines.framework_names import hf_optim, learning_rate
from gpuwise.engines.framework_yaml import comment, dump
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.workload import Workload

FILE = "axolotl.yaml"


def run_command(p: Parallel) -> str:
    """How to start it (axolotl launches accelerate itself, on every visible card)."""
    return f"axolotl train {FILE}"


def config(spec: ModelSpec, w: Workload, p: Parallel, model_ref: str) -> dict[str, object]:
    cfg: dict[str, object] = {"base_model": model_ref}
    if w.method == "qlora":
        cfg["load_in_4bit"] = True  # NF4 with double quantization, axolotl's own choice
    if w.is_lora:
        cfg["adapter"] = "qlora" if w.method == "qlora" else "lora"
        cfg["lora_r"] = w.lora_rank
        cfg["lora_alpha"] = 2 * w.lora_rank
        cfg["lora_dropout"] = 0.0
        if w.lora_targets == ("all-linear",):
            cfg["lora_target_linear"] = True
        else:
            cfg["lora_target_modules"] = list(w.lora_targets)
    cfg["datasets"] = [{"path": "mhenrichsen/alpaca_2k_test", "type": "alpaca"}]
    cfg["output_dir"] = "./outputs/gpuwise"
    cfg["sequence_len"] = w.seq
    cfg["sample_packing"] = w.packing
    cfg["micro_batch_size"] = w.batch
    cfg["gradient_accumulation_steps"] = p.grad_accum
    cfg["num_epochs"] = 1
    cfg["optimizer"] = hf_optim(w)
    cfg["lr_scheduler"] = "cosine"
    cfg["learning_rate"] = learning_rate(w)
    cfg["bf16"] = w.compute_dtype == "bf16"
    cfg["fp16"] = w.compute_dtype == "fp16"
    cfg["tf32"] = False
    cfg["gradient_checkpointing"] = "offload" if w.ckpt_offload else w.grad_checkpointing
    if w.grad_checkpointing:
        cfg["gradient_checkpointing_kwargs"] = {"use_reentrant": False}
    if w.loss == "chunked":
        cfg["chunked_cross_entropy"] = True
    elif w.loss == "fused":
        cfg["plugins"] = ["axolotl.integrations.liger.LigerPlugin"]
        cfg["liger_fused_linear_cross_entropy"] = True
    cfg["attn_implementation"] = "sdpa"
    cfg["logging_steps"] = 10
    if p.engine == "deepspeed":
        cfg["deepspeed"] = DS_CONFIG_FILE
    return cfg


def axolotl_yaml(spec: ModelSpec, w: Workload, p: Parallel, model_ref: str) -> str:
    notes = [
        "Written by `gpuwise plan --emit --framework axolotl` (axolotl 0.19); see plan.txt.",
        f"Run: {run_command(p)}",
        "datasets: axolotl's small example set; put yours here.",
    ]
    if w.method == "qlora" and w.upcast:
        notes.append("axolotl casts QLoRA's embeddings, norms and LM head back to 16-bit; the")
        notes.append("plan counts them in fp32 as the reference step does (--no-upcast: 16-bit).")
    if p.strategy.startswith("fsdp"):
        notes.append("FSDP: add axolotl's fsdp_config for the plan's strategy (see plan.txt).")
    return comment("\n".join(notes)) + dump(config(spec, w, p, model_ref))
