"""Any legal layout on any cluster gives launch files its engines read (hypothesis), and any
name reaching the files is written safely or refused in one line."""

from __future__ import annotations

import shutil
import subprocess
import unicodedata

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gpuwise.cluster.layout import SHARDINGS, Layout, layout_problem
from gpuwise.engines.cluster_emit import cluster_launch_files
from gpuwise.errors import GpuwiseError
from gpuwise.record import replace
from gpuwise.workload import Workload

from .test_cluster_emit import cluster, h100, run, titan_config

BASH = shutil.which("bash")
pytestmark = pytest.mark.skipif(BASH is None, reason="needs bash")


@pytest.fixture(scope="module")
def llama_8b():
    from gpuwise.models import load_model

    return load_model("llama-3.1-8b")


@st.composite
def jobs(draw):
    nodes = draw(st.sampled_from([1, 2, 3, 4, 8]))
    gpus = draw(st.sampled_from([1, 2, 4, 8]))
    net = draw(st.sampled_from(["ib-ndr", "roce-200", "eth-25"]))
    tp = draw(st.sampled_from([t for t in (1, 2, 4, 8) if gpus % t == 0]))
    pp = draw(st.sampled_from([1, 2, 4]))
    cp = draw(st.sampled_from([1, 2]))
    world = nodes * gpus
    assume(world % (tp * pp * cp) == 0)
    interleaved = pp > 1 and draw(st.booleans())
    layout = Layout(
        tp=tp,
        pp=pp,
        cp=cp,
        dp=world // (tp * pp * cp),
        sharding=draw(st.sampled_from(SHARDINGS)),
        sequence_parallel=tp > 1 and draw(st.booleans()),
        schedule="interleaved" if interleaved else "1f1b",
        virtual_stages=2 if interleaved else 1,
        micro_batches=draw(st.sampled_from([1, 2, 4, 8])),
    )
    w = Workload(
        batch=draw(st.integers(1, 4)),
        seq=draw(st.sampled_from([2048, 8192])),
        grad_checkpointing=draw(st.booleans()),
    )
    return cluster(nodes, gpus, net), layout, w


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(job=jobs())
def test_any_legal_layout_launches(tmp_path_factory, llama_8b, job):
    from torch.distributed.run import config_from_args, get_args_parser

    from gpuwise.engines import write_launch_files

    cl, layout, w = job
    assume(layout_problem(llama_8b, w, cl, layout) is None)
    files = cluster_launch_files(llama_8b, w, cl, layout, model_ref="meta-llama/Llama-3.1-8B")
    plain = layout.tp == layout.pp == layout.cp == 1
    zero = layout.sharding.startswith("zero") and layout.pp == layout.cp == 1
    assert ("train.py" in files) == plain and ("accelerate_config.yaml" in files) == plain
    assert ("hostfile" in files) == zero == ("ds_config.json" in files)
    folder = tmp_path_factory.mktemp("job") / "launch"
    write_launch_files(folder, files)
    for script in ("torchrun.sh", "job.sbatch"):
        subprocess.run([BASH, "-n", str(folder / script)], check=True, timeout=60)
    words, _ = run(folder, "torchrun.sh", "torchrun", {"MASTER_ADDR": "10.0.0.1"})
    config, _, cmd_args = config_from_args(get_args_parser().parse_args(words[1:]))
    assert config.max_nodes * config.nproc_per_node == layout.world
    if not plain:
        cfg = titan_config(cmd_args[cmd_args.index("torchtitan.train") + 1 :])
        from torchtitan.distributed.parallel_dims import ParallelDims

        assert ParallelDims.from_config(cfg.parallelism, cl.world).world_size == cl.world
        assert cfg.training.global_batch_size == w.batch * layout.micro_batches * layout.dp


def unsafe(text: str) -> bool:
    return any(unicodedata.category(c) in {"Cc", "Cf", "Cs", "Zl", "Zp"} for c in text)


@settings(max_examples=60, deadline=None)
@given(name=st.text(max_size=30), ref=st.text(max_size=30))
def test_any_name_is_written_safely_or_refused(name, ref):
    from gpuwise.models import load_model

    spec = load_model("llama-3.1-8b")
    cl = replace(cluster(2, 8), card=replace(h100(), name=name))
    try:
        files = cluster_launch_files(spec, Workload(), cl, Layout(dp=16, sharding="zero2"),
                                     model_ref=ref or "m")  # fmt: skip
    except GpuwiseError as e:
        assert "\n" not in str(e) and (unsafe(name) or unsafe(ref))
        return
    assert not any(unsafe(line) for text in files.values() for line in text.split("\n"))
