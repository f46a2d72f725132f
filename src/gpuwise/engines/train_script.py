"""train.py: the reference training step under accelerate, for the emitted launch config.

A short, real script: the settings block at its top is the plan; the body loads the model,
applies LoRA / QLoRA as the reference step does (docs/reference-step.md), and trains on
synthetic batches (a clearly marked placeholder for the user's data) with
``accelerate.Accelerator``.
"""

from __future__ import annotations

import pprint

from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.workload import Workload

#: Model dtype for the precision: pure bf16/fp16 build the model in that dtype, amp-* and fp32 in
#: fp32 (DeepSpeed's bf16/fp16 cast the model themselves; loading 16-bit saves host RAM).
LOAD_DTYPE = {"bf16": "bfloat16", "fp16": "float16", "amp-bf16": "float32",
              "amp-fp16": "float32", "fp32": "float32"}  # fmt: skip
COMPUTE_DTYPE = {"bf16": "bfloat16", "fp16": "float16"}


def settings(spec: ModelSpec, w: Workload, p: Parallel, model_ref: str) -> dict[str, object]:
    sharded = p.shards("weights")
    return {
        "model": model_ref,
        "encoder": spec.kind == "encoder",
        "strategy": p.strategy,
        "method": w.method,
        "load_dtype": LOAD_DTYPE[w.precision],
        "compute_dtype": COMPUTE_DTYPE.get(w.compute_dtype, "float32"),
        "micro_batch": w.batch,
        "seq": w.seq,
        "grad_accum": p.grad_accum,
        # transformers' non-reentrant checkpointing under every strategy (it keeps the RNG
        # state, so dropout recomputes the same masks; accelerate's FSDP wrappers do not)
        "grad_checkpointing": w.grad_checkpointing,
        # amp under FSDP: fp32 shards, 16-bit gathers, gradients reduced in fp32 (accelerate's
        # own policy for mixed_precision would reduce in 16 bits)
        "reduce_fp32": w.amp and p.strategy.startswith("fsdp"),
        # the precision when train.py runs without the launcher (DeepSpeed: its config's)
        "mixed_precision": (w.compute_dtype if w.amp else "no") if p.engine == "torch" else None,
        "lora_rank": w.lora_rank,
        "lora_targets": "all-linear" if w.lora_targets == ("all-linear",) else list(w.lora_targets),
        "optimizer": w.optimizer,
        # the memory tricks (gpuwise/memory/data/tricks.json): the loss a chunk of tokens at a
        # time (chunked: recomputed in backward; fused: Liger-Kernel's), each layer's checkpoint
        # in host RAM, QLoRA without fp32 copies of the unquantized weights
        "loss": w.loss,
        "ckpt_offload": w.grad_checkpointing and w.ckpt_offload,
        "upcast": w.upcast,
        # FSDP / ZeRO-3 shard the 4-bit weights: they must be stored in the compute dtype
        "quant_storage_sharded": sharded,
        "vocab_size": spec.vocab_size,
    }


def train_py(spec: ModelSpec, w: Workload, p: Parallel, model_ref: str) -> str:
    block = pprint.pformat(settings(spec, w, p, model_ref), sort_dicts=False, width=96)
    return HEADER + f"SETTINGS = {block}\n" + BODY


HEADER = '''\
"""Training script written by `gpuwise plan --emit`: the plan's reference step under accelerate.

Run it with launch.sh (accelerate launch --config_file accelerate_config.yaml train.py).
Needs torch, transformers, accelerate (peft for LoRA, bitsandbytes for QLoRA / adamw-8bit,
liger-kernel for --loss fused).
The batches are SYNTHETIC: replace `batches()` below with your data.
"""

import argparse
import itertools
import os
import tempfile

import torch
from accelerate import Accelerator
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM

'''

BODY = '''

def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=SETTINGS["model"], help="HF id, model folder or config.json")
    ap.add_argument("--max-steps", type=int, default=100, help="optimizer steps")
    ap.add_argument("--lr", type=float, default=1e-5)
    ap.add_argument("--output-dir", default=None, help="save the trained model here")
    ap.add_argument("--local_rank", "--local-rank", type=int, default=None, help=argparse.SUPPRESS)
    return ap.parse_args()


def quantization_config():
    if SETTINGS["method"] != "qlora":
        return None
    from transformers import BitsAndBytesConfig

    compute = getattr(torch, SETTINGS["compute_dtype"])
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute,
        bnb_4bit_quant_storage=compute if SETTINGS["quant_storage_sharded"] else torch.uint8,
    )


def has_weights(ref):
    """A config.json, or a folder with no weight files, gives a randomly initialised model."""
    if ref.endswith(".json"):
        return False
    if os.path.isdir(ref):
        return any(f.endswith((".safetensors", ".bin")) for f in os.listdir(ref))
    return True  # a Hugging Face id


def load_model(ref):
    """Pretrained weights from an HF id or a model folder; random weights from a config.json."""
    auto = AutoModelForMaskedLM if SETTINGS["encoder"] else AutoModelForCausalLM
    dtype = getattr(torch, SETTINGS["load_dtype"])
    quant = quantization_config()
    if has_weights(ref):
        return auto.from_pretrained(ref, dtype=dtype, quantization_config=quant)
    config = AutoConfig.from_pretrained(ref)
    model = auto.from_config(config, dtype=dtype)
    if quant is None:
        return model
    with tempfile.TemporaryDirectory() as tmp:  # bitsandbytes quantizes while loading
        model.save_pretrained(tmp)
        return auto.from_pretrained(tmp, dtype=dtype, quantization_config=quant)


def prepare(model):
    """train(), checkpointing and LoRA as the reference step does (alpha = 2 x rank)."""
    model.train()
    ckpt = {"use_reentrant": False}
    if SETTINGS["method"] == "qlora" and not SETTINGS["upcast"]:
        # --no-upcast: prepare_model_for_kbit_training without its fp32 casts
        for p in model.parameters():
            p.requires_grad_(False)
        if SETTINGS["grad_checkpointing"]:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=ckpt)
    elif SETTINGS["method"] == "qlora" and not SETTINGS["quant_storage_sharded"]:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(
            model,
            use_gradient_checkpointing=SETTINGS["grad_checkpointing"],
            gradient_checkpointing_kwargs=ckpt,
        )
    elif SETTINGS["grad_checkpointing"]:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=ckpt)
    if SETTINGS["ckpt_offload"]:
        offload_checkpoints(model)
    if SETTINGS["loss"] == "fused":
        from liger_kernel.transformers import _apply_liger_kernel_to_instance

        # only the loss: Liger's fused linear cross-entropy, no other kernel swapped
        _apply_liger_kernel_to_instance(model=model, fused_linear_cross_entropy=True,
                                        cross_entropy=False, rope=False, rms_norm=False,
                                        swiglu=False)
    elif SETTINGS["loss"] == "chunked":
        chunked_loss(model)
    if SETTINGS["method"] in ("lora", "qlora"):
        from peft import LoraConfig, get_peft_model

        if SETTINGS["grad_checkpointing"]:
            model.enable_input_require_grads()
        rank = SETTINGS["lora_rank"]
        lora = LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.0,
                          target_modules=SETTINGS["lora_targets"])
        model = get_peft_model(model, lora)
        model.train()
    return model


def offload_checkpoints(model):
    """Each checkpointed layer's saved inputs wait in host RAM until its backward."""
    from torch.utils.checkpoint import checkpoint

    def offloaded(function, *args, **kwargs):
        with torch.autograd.graph.save_on_cpu(pin_memory=torch.cuda.is_available()):
            return checkpoint(function, *args, use_reentrant=False, **kwargs)

    model._set_gradient_checkpointing(enable=True, gradient_checkpointing_func=offloaded)


def chunked_loss(model):
    """The model's forward with its loss a chunk of tokens at a time: the LM head and the
    cross-entropy of each chunk under checkpointing, so only one chunk's logits exist."""
    from types import SimpleNamespace

    from torch.utils.checkpoint import checkpoint

    body = getattr(model, model.base_model_prefix)
    head = model.get_output_embeddings()

    def chunk_loss(x, labels):
        return torch.nn.functional.cross_entropy(head(x).float(), labels, reduction="sum")

    def forward(input_ids=None, labels=None, **kwargs):
        hidden = body(input_ids=input_ids, **kwargs).last_hidden_state
        x = hidden.reshape(-1, hidden.shape[-1])
        shifted = torch.nn.functional.pad(labels, (0, 1), value=-100)[..., 1:].reshape(-1)
        tokens, width, vocab = x.shape[0], x.shape[1], head.weight.shape[0]
        inc = -(-vocab // width)  # Liger-Kernel's chunk size
        chunk = min(tokens, 1 << max(0, -(-tokens // inc) - 1).bit_length())
        parts = [checkpoint(chunk_loss, x[i : i + chunk], shifted[i : i + chunk],
                            use_reentrant=False) for i in range(0, tokens, chunk)]
        return SimpleNamespace(loss=sum(parts) / (shifted != -100).sum())

    model.forward = forward


def make_optimizer(params, lr):
    name = SETTINGS["optimizer"]
    if name in ("adamw", "adamw-fused"):
        return torch.optim.AdamW(params, lr=lr, fused=True if name == "adamw-fused" else None)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if name == "adafactor":
        from transformers.optimization import Adafactor

        return Adafactor(params, lr=None, relative_step=True, scale_parameter=True)
    import bitsandbytes

    if name == "paged-adamw-8bit":
        return bitsandbytes.optim.PagedAdamW8bit(params, lr=lr)
    return bitsandbytes.optim.AdamW8bit(params, lr=lr)


def batches(accelerator, vocab_size):
    """>>> PLACEHOLDER DATA: random tokens, labels = input_ids. Replace with your dataset. <<<"""
    gen = torch.Generator().manual_seed(1234 + accelerator.process_index)
    shape = (SETTINGS["micro_batch"], SETTINGS["seq"])
    while True:
        ids = torch.randint(0, vocab_size, shape, generator=gen).to(accelerator.device)
        yield {"input_ids": ids, "labels": ids}


def make_accelerator():
    """The plan's precision and accumulation; under FSDP with amp, the plan's policy."""
    kwargs = {"gradient_accumulation_steps": SETTINGS["grad_accum"]}
    if SETTINGS["mixed_precision"] is not None:
        kwargs["mixed_precision"] = SETTINGS["mixed_precision"]
    if SETTINGS["reduce_fp32"]:
        from accelerate.utils import FullyShardedDataParallelPlugin

        compute = getattr(torch, SETTINGS["compute_dtype"])
        policy = {"param_dtype": compute, "reduce_dtype": torch.float32, "output_dtype": compute}
        kwargs["fsdp_plugin"] = FullyShardedDataParallelPlugin(mixed_precision_policy=policy)
    return Accelerator(**kwargs)


def main():
    args = parse_args()
    # the Accelerator first: DeepSpeed ZeRO-3 (zero.Init) and FSDP's rank-0 loading need it
    # in place before the model is built
    accelerator = make_accelerator()
    model = prepare(load_model(args.model))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = make_optimizer(params, args.lr)
    model, optimizer = accelerator.prepare(model, optimizer)
    data = batches(accelerator, SETTINGS["vocab_size"])
    for step in range(args.max_steps):
        for batch in itertools.islice(data, SETTINGS["grad_accum"]):
            with accelerator.accumulate(model):
                loss = model(**batch).loss
                accelerator.backward(loss)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
        accelerator.print(f"step {step + 1}/{args.max_steps} loss {loss.item():.4f}")
    if args.output_dir:
        accelerator.wait_for_everyone()
        accelerator.unwrap_model(model).save_pretrained(
            args.output_dir,
            is_main_process=accelerator.is_main_process,
            save_function=accelerator.save,
            state_dict=accelerator.get_state_dict(model),
        )
    accelerator.end_training()


if __name__ == "__main__":
    main()
'''
