"""torchtune_config.yaml: the plan as a torchtune recipe config, for
``tune run RECIPE --config torchtune_config.yaml`` (the layout of torchtune's own
``recipes/configs/llama3_1/8B_*_single_device.yaml``; the model is its family's component
builder with the model's shapes, so any size of a family works; tests bind every
``_component_``'s arguments to its signature in torchtune 0.6.1 and check the recipe's keys)."""

from __future__ import annotations

from gpuwise.engines.framework_names import learning_rate, names
from gpuwise.engines.framework_yaml import comment, dump
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

FILE = "torchtune_config.yaml"
#: transformers' LoRA target names -> torchtune's (attention) ; the MLP's go by one switch
_ATTN = {"q_proj": "q_proj", "k_proj": "k_proj", "v_proj": "v_proj", "o_proj": "output_proj"}
_MLP = {"gate_proj", "up_proj", "down_proj"}


def family(spec: ModelSpec) -> dict[str, Any]:
    """The torchtune builder family of ``spec`` (refused in one line when gpuwise writes none)."""
    families: dict[str, Any] = names()["torchtune"]["families"]
    if spec.model_type not in families:
        raise GpuwiseError(
            Message(
                "frameworks.emit_model_type",
                framework="torchtune",
                model_type=spec.model_type,
                allowed=", ".join(families),
            ),
        )
    return families[spec.model_type]


def recipe(w: Workload, p: Parallel) -> str:
    single, distributed = names()["torchtune"]["recipes"][w.method]
    return str(single if p.gpus == 1 else distributed)


def run_command(w: Workload, p: Parallel) -> str:
    procs = "" if p.gpus == 1 else f"--nproc_per_node {p.gpus} "
    return f"tune run {procs}{recipe(w, p)} --config {FILE}"


def _lora_modules(w: Workload, spec: ModelSpec) -> tuple[list[str], bool]:
    """torchtune's ``lora_attn_modules`` and ``apply_lora_to_mlp`` for the plan's targets
    (``all-linear``: every attention projection and the MLP)."""
    if w.lora_targets == ("all-linear",):
        return list(_ATTN.values()), True
    attn = [_ATTN[t] for t in w.lora_targets if t in _ATTN]
    return attn, any(t in _MLP for t in w.lora_targets)


def model(spec: ModelSpec, w: Workload) -> dict[str, object]:
    fam = family(spec)
    prefix = "" if w.method == "full" else "lora_"
    cfg: dict[str, object] = {"_component_": f"{fam['module']}.{prefix}{fam['builder']}"}
    if w.is_lora:
        attn, mlp = _lora_modules(w, spec)
        cfg.update(
            {
                "lora_attn_modules": attn,
                "apply_lora_to_mlp": mlp,
                "apply_lora_to_output": False,
            }
        )
    cfg.update(
        {
            "vocab_size": spec.vocab_size,
            "num_layers": spec.num_layers,
            "num_heads": spec.num_attention_heads,
            "num_kv_heads": spec.num_kv_heads,
            "embed_dim": spec.hidden_size,
            "intermediate_dim": spec.intermediate_size,
            "max_seq_len": max(w.seq, spec.max_position_embeddings or w.seq),
        }
    )
    if spec.model_type == "qwen2":
        cfg["tie_word_embeddings"] = spec.tie_word_embeddings
    if w.is_lora:
        cfg["lora_rank"] = w.lora_rank
        cfg["lora_alpha"] = float(2 * w.lora_rank)
        cfg["lora_dropout"] = 0.0
        cfg["quantize_base"] = w.method == "qlora"
    return cfg


def config(spec: ModelSpec, w: Workload, p: Parallel, model_ref: str) -> dict[str, object]:
    fam = family(spec)
    tokenizer: dict[str, object] = {
        "_component_": fam["tokenizer"],
        "path": f"{model_ref}/{fam['tokenizer_file']}",
        "max_seq_len": w.seq,
    }
    if "merges_file" in fam:
        tokenizer["merges_file"] = f"{model_ref}/{fam['merges_file']}"
    optimizer = dict(names()["torchtune"]["optimizers"][w.optimizer])
    optimizer["lr"] = learning_rate(w)
    cfg: dict[str, object] = {
        "output_dir": "/tmp/torchtune/gpuwise",
        "model": model(spec, w),
        "tokenizer": tokenizer,
        "checkpointer": {
            "_component_": "torchtune.training.FullModelHFCheckpointer",
            "checkpoint_dir": model_ref,
            "checkpoint_files": {
                "filename_format": "model-{}-of-{}.safetensors",
                "max_filename": "00004",
            },
            "recipe_checkpoint": None,
            "output_dir": "${output_dir}",
            "model_type": fam["checkpoint_type"],
        },
        "resume_from_checkpoint": False,
        "dataset": {
            "_component_": "torchtune.datasets.alpaca_cleaned_dataset",
            "packed": w.packing,
        },
        "seed": None,
        "shuffle": True,
        "batch_size": w.batch,
        "epochs": 1,
        "max_steps_per_epoch": None,
        "gradient_accumulation_steps": p.grad_accum,
        "clip_grad_norm": None,
        "optimizer": optimizer,
        "lr_scheduler": {
            "_component_": "torchtune.training.lr_schedulers.get_cosine_schedule_with_warmup",
            "num_warmup_steps": 100,
        },
        "loss": {"_component_": names()["torchtune"]["loss"]},
        "compile": False,
        "device": "cuda",
        "dtype": "bf16" if w.compute_dtype == "bf16" else "fp32",
        "enable_activation_checkpointing": w.grad_checkpointing,
        "enable_activation_offloading": w.ckpt_offload,
        "metric_logger": {
            "_component_": "torchtune.training.metric_logging.DiskLogger",
            "log_dir": "${output_dir}/logs",
        },
        "log_every_n_steps": 1,
        "log_peak_memory_stats": True,
    }
    if w.is_lora:
        cfg["save_adapter_weights_only"] = True
    if p.gpus > 1 and p.strategy.endswith("offload"):
        cfg["fsdp_cpu_offload"] = True  # the distributed recipes' FSDP2 offload
    if w.method == "full" and p.gpus == 1:
        # as the plan: stepped in the backward (torchtune's default) or every gradient kept
        # until the step; torchtune refuses it with gradient accumulation
        cfg["optimizer_in_bwd"] = w.optimizer_in_bwd and p.grad_accum == 1
    return cfg


def torchtune_yaml(spec: ModelSpec, w: Workload, p: Parallel, model_ref: str) -> str:
    notes = [
        "Written by `gpuwise plan --emit --framework torchtune` (torchtune 0.6); see plan.txt.",
        f"Run: {run_command(w, p)}",
        "checkpoint_dir and the tokenizer's paths: a local copy of the model (tune download);",
        "checkpoint_files: set them to its safetensors files; the model's",
        "rope_base and norm_eps are the builder's defaults: set them from its config.json.",
    ]
    if p.engine == "deepspeed":
        notes.append(f"torchtune shards with FSDP2, not DeepSpeed: the plan's {p.strategy} is")
        notes.append("the nearest it has (fsdp_cpu_offload for the offload strategies).")
    if w.compute_dtype == "fp16":
        notes.append("torchtune trains in bf16 or fp32 only: fp32 here, the plan is fp16.")
    return comment("\n".join(notes)) + dump(config(spec, w, p, model_ref))
