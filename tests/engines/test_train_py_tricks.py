"""The emitted train.py runs the memory tricks the plan was made with (on the CPU, a tiny model):
a chunked loss and offloaded checkpoints train, and the chunked loss is the mean cross-entropy
the reference computes (a random model's is about ln(vocabulary))."""

from __future__ import annotations

import json
import math
import sys

from gpuwise.parallel import Parallel
from gpuwise.workload import Workload

from .launcher import emit
from .test_train_py import TINY, losses, run


def test_chunked_loss_and_offloaded_checkpoints_train(tmp_path, tiny_llama):
    w = Workload(method="lora", lora_rank=4, grad_checkpointing=True, batch=2, seq=32,
                 precision="fp32", loss="chunked", ckpt_offload=True)  # fmt: skip
    folder = emit(tmp_path, tiny_llama, w, Parallel("single"), model_ref=str(TINY))
    script = (folder / "train.py").read_text()
    assert "'loss': 'chunked'" in script and "'ckpt_offload': True" in script
    out = losses(run([sys.executable, "train.py", "--max-steps", "2", "--lr", "0"], folder))
    vocab = json.loads(TINY.read_text())["vocab_size"]
    assert len(out) == 2
    assert all(abs(x - math.log(vocab)) < 0.05 * math.log(vocab) for x in out), out


def test_the_script_names_each_trick(tmp_path, tiny_llama):
    """The settings block carries every trick; the body uses Liger's fused loss and the paged
    optimizer when asked (they need CUDA: not run here)."""
    w = Workload(method="qlora", precision="bf16", grad_checkpointing=True, loss="fused",
                 upcast=False, optimizer="paged-adamw-8bit")  # fmt: skip
    folder = emit(tmp_path, tiny_llama, w, Parallel("single"), model_ref=str(TINY))
    script = (folder / "train.py").read_text()
    for said in ("'loss': 'fused'", "'upcast': False", "'optimizer': 'paged-adamw-8bit'"):
        assert said in script
    assert "PagedAdamW8bit" in script and "fused_linear_cross_entropy=True" in script
    compile(script, "train.py", "exec")
