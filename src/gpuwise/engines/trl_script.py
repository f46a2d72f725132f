"""trl_sft.py: the plan as a TRL script (SFTTrainer with SFTConfig; peft's LoraConfig and
transformers' BitsAndBytesConfig for LoRA / QLoRA), for ``python trl_sft.py`` or
``accelerate launch --config_file accelerate_config.yaml trl_sft.py``. Its settings block is
the plan; tests import it and build its SFTConfig and LoraConfig with the installed TRL."""

from __future__ import annotations

import pprint

from gpuwise.engines.framework_names import hf_optim, hf_targets, learning_rate
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.workload import Workload

FILE = "trl_sft.py"


def run_command(p: Parallel) -> str:
    if p.gpus > 1:
        return f"accelerate launch --config_file accelerate_config.yaml {FILE}"
    return f"python {FILE}"


def settings(spec: ModelSpec, w: Workload, p: Parallel, model_ref: str) -> dict[str, object]:
    out: dict[str, object] = {
        "model": model_ref,
        "method": w.method,
        "dtype": {"bf16": "bfloat16", "fp16": "float16"}.get(w.compute_dtype, "float32"),
        # amp (fp32 weights, 16-bit compute) or the model in its 16-bit dtype
        "load_fp32": w.amp or w.precision == "fp32",
        "sft": {
            "output_dir": "outputs/gpuwise",
            "per_device_train_batch_size": w.batch,
            "gradient_accumulation_steps": p.grad_accum,
            "max_length": w.seq,
            "packing": w.packing,
            "gradient_checkpointing": w.grad_checkpointing,
            "gradient_checkpointing_kwargs": {"use_reentrant": False},
            "activation_offloading": w.ckpt_offload,
            "use_liger_kernel": w.loss == "fused",
            "optim": hf_optim(w),
            "learning_rate": learning_rate(w),
            "num_train_epochs": 1.0,
            "bf16": w.compute_dtype == "bf16",
            "fp16": w.compute_dtype == "fp16",
            "logging_steps": 10,
            "report_to": "none",
        },
        "lora": None
        if not w.is_lora
        else {
            "r": w.lora_rank,
            "lora_alpha": 2 * w.lora_rank,
            "lora_dropout": 0.0,
            "target_modules": hf_targets(w),
            "task_type": "CAUSAL_LM",
        },
        "dataset": "trl-lib/Capybara",
    }
    return out


def trl_py(spec: ModelSpec, w: Workload, p: Parallel, model_ref: str) -> str:
    block = pprint.pformat(settings(spec, w, p, model_ref), sort_dicts=False, width=96)
    header = HEADER.format(run=run_command(p))
    if w.loss == "full":
        header += FULL_LOSS
    return header + f"SETTINGS = {block}\n" + BODY


#: TRL's loss is chunked whatever it is told (loss_type chunked_nll, TRL 1.9's default; nll
#: computes the same from the releases after, sft_config.py): said where the plan is not.
FULL_LOSS = (
    "# The plan's loss is the full one (--loss full); TRL computes it in chunks, with less.\n"
)


HEADER = '''\
"""Supervised fine-tuning with TRL, written by `gpuwise plan --emit --framework trl`.

SETTINGS below is the plan; the dataset is TRL's example set (put yours there).
Run: {run}
"""

'''

BODY = """

def sft_config():
    from trl import SFTConfig

    return SFTConfig(**SETTINGS["sft"])


def lora_config():
    if SETTINGS["lora"] is None:
        return None
    from peft import LoraConfig

    return LoraConfig(**SETTINGS["lora"])


def model_init_kwargs():
    import torch

    dtype = getattr(torch, SETTINGS["dtype"])
    kwargs = {"dtype": torch.float32 if SETTINGS["load_fp32"] else dtype}
    if SETTINGS["method"] == "qlora":
        from transformers import BitsAndBytesConfig

        kwargs["dtype"] = dtype
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype,
        )
    return kwargs


def main():
    from datasets import load_dataset
    from transformers import AutoModelForCausalLM
    from trl import SFTTrainer

    model = AutoModelForCausalLM.from_pretrained(SETTINGS["model"], **model_init_kwargs())
    trainer = SFTTrainer(
        model=model,
        args=sft_config(),
        train_dataset=load_dataset(SETTINGS["dataset"], split="train"),
        peft_config=lora_config(),
    )
    trainer.train()


if __name__ == "__main__":
    main()
"""
