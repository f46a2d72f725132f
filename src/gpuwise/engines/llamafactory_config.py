"""llamafactory_train.yaml: the plan as a LLaMA-Factory training config, for
``llamafactory-cli train llamafactory_train.yaml`` (keys of LLaMA-Factory v0.9.5's
``hparams/model_args.py``, ``data_args.py``, ``finetuning_args.py`` and transformers'
TrainingArguments; tests parse it with ``llamafactory.hparams.get_train_args``)."""

from __future__ import annotations

from gpuwise.engines.accelerate_config import DS_CONFIG_FILE
from gpuwise.engines.framework_names import hf_optim, learning_rate
from gpuwise.engines.framework_yaml import comment, dump
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.workload import Workload

FILE = "llamafactory_train.yaml"


def run_command(p: Parallel) -> str:
    """How to start it: LLaMA-Factory launches torchrun itself for several cards."""
    if p.strategy.startswith("fsdp"):  # LLaMA-Factory's FSDP runs under accelerate's launcher
        return (
            "accelerate launch --config_file accelerate_config.yaml -m llamafactory.launcher "
            + FILE
        )
    if p.gpus > 1:
        return f"FORCE_TORCHRUN=1 NPROC_PER_NODE={p.gpus} llamafactory-cli train {FILE}"
    return f"llamafactory-cli train {FILE}"


def config(spec: ModelSpec, w: Workload, p: Parallel, model_ref: str) -> dict[str, object]:
    cfg: dict[str, object] = {
        "model_name_or_path": model_ref,
        "trust_remote_code": False,
        "stage": "sft",
        "do_train": True,
        "finetuning_type": "full" if w.method == "full" else "lora",
    }
    if w.is_lora:
        cfg["lora_rank"] = w.lora_rank
        cfg["lora_alpha"] = 2 * w.lora_rank
        cfg["lora_dropout"] = 0.0
        cfg["lora_target"] = (
            "all" if w.lora_targets == ("all-linear",) else ",".join(w.lora_targets)
        )
    if w.method == "qlora":
        cfg["quantization_bit"] = 4
        cfg["quantization_method"] = "bnb"
        cfg["quantization_type"] = "nf4"
        cfg["double_quantization"] = True
        # the reference's prepare_model_for_kbit_training keeps norms in fp32; LLaMA-Factory
        # casts nothing but the adapters unless told (--no-upcast leaves them 16-bit)
        cfg["upcast_layernorm"] = w.upcast
    cfg["disable_gradient_checkpointing"] = not w.grad_checkpointing
    if w.ckpt_offload:
        cfg["use_unsloth_gc"] = True  # layer inputs kept in host RAM, unsloth's way
    if w.loss == "fused":
        cfg["enable_liger_kernel"] = True  # Liger's fused linear cross-entropy
    cfg["flash_attn"] = "auto"
    cfg.update(
        {
            "dataset": "alpaca_en_demo",
            "dataset_dir": "data",
            "template": "default",
            # with packing, LLaMA-Factory packs to cutoff_len - 1 (hparams/data_args.py)
            "cutoff_len": w.seq + 1 if w.packing else w.seq,
            "packing": w.packing,
            "output_dir": "saves/gpuwise",
            "overwrite_output_dir": True,
            "per_device_train_batch_size": w.batch,
            "gradient_accumulation_steps": p.grad_accum,
            "learning_rate": learning_rate(w),
            "num_train_epochs": 1.0,
            "lr_scheduler_type": "cosine",
            "optim": hf_optim(w),
            "logging_steps": 10,
            "report_to": "none",
        }
    )
    if w.compute_dtype == "bf16":
        cfg["bf16"] = True
    elif w.compute_dtype == "fp16":
        cfg["fp16"] = True
    if w.method == "full" and w.precision in ("bf16", "fp16"):
        # pure 16-bit: LLaMA-Factory otherwise casts the trainable weights to fp32 (amp)
        cfg["pure_bf16"] = w.precision == "bf16"
    if p.engine == "deepspeed":
        cfg["deepspeed"] = DS_CONFIG_FILE
    return cfg


def llamafactory_yaml(spec: ModelSpec, w: Workload, p: Parallel, model_ref: str) -> str:
    notes = [
        "Written by `gpuwise plan --emit --framework llamafactory` (LLaMA-Factory 0.9.5);",
        "see plan.txt.",
        f"Run: {run_command(p)}",
        "dataset / template: LLaMA-Factory's demo set and the plain template; put yours here",
        "(data/dataset_info.json names the sets; the template is your model's chat format).",
    ]
    if w.loss == "chunked":
        notes.append("The plan's --loss chunked has no LLaMA-Factory option; enable_liger_kernel")
        notes.append("(Liger's fused loss) is the nearest.")
    return comment("\n".join(notes)) + dump(config(spec, w, p, model_ref))
