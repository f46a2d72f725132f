"""Any legal layout on any cluster gives launch files its engines read (hypothesis), and any
name reaching the files is written safely or refused in one line."""

from __future__ import annotations

import os
import shutil
import subprocess
import unicodedata

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from gpuwise.cluster.layout import SHARDINGS, Layout, layout_problem
from gpuwise.engines.cluster_emit import cluster_launch_files
from gpuwise.errors import GpuwiseError
from gpuwise.record import replace
from gpuwise.workload import Workload

from .test_cluster_emit import cluster, h100, megatron_validated, run, titan_config
from .test_emit_hardening import run_cli

BASH = shutil.which("bash")
#: Megatron-LM's own checks join in where GPUWISE_MEGATRON_LM names a checkout (never in CI).
MEGATRON = bool(os.environ.get("GPUWISE_MEGATRON_LM"))
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
def test_any_legal_layout_launches(tmp_path_factory, monkeypatch, llama_8b, job):
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
    if "megatron.sh" in files and MEGATRON:  # where a Megatron-LM checkout is named
        env = {"MASTER_ADDR": "10.0.0.1", "MEGATRON_LM": "/m"}
        words, seen = run(folder, "megatron.sh", "torchrun", env)
        monkeypatch.setenv("CUDA_DEVICE_MAX_CONNECTIONS", seen["CUDA_DEVICE_MAX_CONNECTIONS"])
        args = megatron_validated(monkeypatch, words[words.index("/m/pretrain_gpt.py") + 1 :],
                                  cl.world)  # fmt: skip
        assert args.data_parallel_size == layout.dp
        event("checked by Megatron-LM")


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
        assert "\n" not in str(e)
        assert unsafe(name) or unsafe(ref) or "cannot resolve" in str(e)  # ~user unknown
        return
    assert not any(unsafe(line) for text in files.values() for line in text.split("\n"))


#: Mostly flags that make a plan (so the files are written and checked), then bad ones.
GOOD_NODES = st.sampled_from(["2", "4", "8", " 2 "])
NODES = st.one_of(*[GOOD_NODES] * 4, st.sampled_from(["1", "65", "0", "-1", "2.5", "", "²"]),
                  st.text(max_size=6))  # fmt: skip
GOOD_NETWORKS = st.sampled_from(["ib-ndr", "roce-400", "eth-10", "IB-HDR"])
NETWORKS = st.one_of(*[GOOD_NETWORKS] * 4, st.sampled_from(["nope", ""]),
                     st.text(max_size=8))  # fmt: skip
GOOD_LAYOUTS = st.sampled_from(["tp=8", "tp=2,shard=zero1", "tp=4,pp=2,mb=4", "shard=hsdp",
                                "shard=zero3,mb=2", "tp=8,sp,pp=2,schedule=interleaved,v=2,mb=4",
                                "tp=2,cp=2,shard=fsdp", "auto"])  # fmt: skip
LAYOUTS = st.one_of(
    GOOD_LAYOUTS,
    GOOD_LAYOUTS,
    GOOD_LAYOUTS,
    GOOD_LAYOUTS,
    st.sampled_from(["tp=3", "sp", "pp=0", "", "tp=8,tp=8", "shard=zero3,pp=2"]),
    st.text(alphabet="tpcdvmbsh=,0123456789rdzeoxaflu ", max_size=24),
)


@settings(max_examples=60, deadline=None)
@given(nodes=NODES, net=NETWORKS, layout=LAYOUTS, gpus=st.sampled_from(["8", "8", "4", "9"]))
def test_cluster_flags_reaching_emit_write_files_or_one_line(nodes, net, layout, gpus):
    """`plan --nodes --network --layout --emit`: exit 0 with the cluster's files, or exit 2 with
    one line and nothing written, never a traceback."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "out"
        argv = ["plan", "llama-3.1-8b", "--gpu", "h100-sxm-80gb", "--gpus", gpus,
                "--nodes", nodes, "--network", net, "--layout", layout, "--seq", "4096",
                "--emit", str(folder)]  # fmt: skip
        code, _, err = run_cli(*argv)
        event(f"exit {code}")
        assert code in (0, 2), err
        assert "Traceback" not in err
        if code == 2:
            assert len(err.strip().splitlines()) == 1, err
            assert not folder.exists()
        else:
            names = {p.name for p in folder.iterdir()}
            assert {"torchrun.sh", "job.sbatch", ".gpuwise-emit.json"} <= names


@pytest.mark.parametrize(
    ("layout", "want"),
    [
        ("shard=zero3,mb=2", {"train.py", "accelerate_config.yaml", "hostfile", "ds_config.json",
                              ".deepspeed_env"}),
        ("shard=hsdp", {"train.py", "accelerate_config.yaml"}),
        ("tp=2,shard=zero1", {"hostfile", "ds_config.json", "megatron.sh"}),
        ("tp=4,pp=2,mb=4", {"megatron.sh"}),
        ("tp=4,pp=2,mb=4,shard=fsdp", set()),
    ],
)  # fmt: skip
def test_plan_nodes_emit_writes_the_layouts_files(tmp_path, layout, want):
    folder = tmp_path / "out"
    code, _, err = run_cli("plan", "llama-3.1-8b", "--gpu", "h100-sxm-80gb", "--nodes", "2",
                           "--network", "roce-400", "--layout", layout, "--tokens", "1e9",
                           "--emit", str(folder))  # fmt: skip
    assert code == 0, err
    names = {p.name for p in folder.iterdir()}
    assert names == {"torchrun.sh", "job.sbatch", ".gpuwise-emit.json"} | want
    text = (folder / "job.sbatch").read_text()
    assert "the plan's run time" in text  # --tokens gives --time
    assert "export NCCL_IB_GID_INDEX" in (folder / "torchrun.sh").read_text()  # RoCE


def test_force_turns_a_one_machine_folder_into_a_cluster_one(tmp_path):
    """--force over an earlier one-machine --emit: its launch files that the cluster plan does
    not write (launch.sh, plan.txt) go, the user's own file stays."""
    folder = tmp_path / "out"
    one = ["plan", "llama-3.1-8b", "--gpu", "h100-sxm-80gb", "--gpus", "8", "--strategy", "fsdp",
           "--emit", str(folder)]  # fmt: skip
    code, _, err = run_cli(*one)
    assert code == 0, err
    assert (folder / "launch.sh").exists()
    (folder / "notes.txt").write_text("mine")
    many = ["plan", "llama-3.1-8b", "--gpu", "h100-sxm-80gb", "--nodes", "2", "--network",
            "ib-ndr", "--layout", "tp=8", "--emit", str(folder)]  # fmt: skip
    code, _, err = run_cli(*many)
    assert code == 2 and "--force" in err  # not without --force
    code, _, err = run_cli(*many, "--force")
    assert code == 0, err
    names = {p.name for p in folder.iterdir()}
    assert names == {"torchrun.sh", "job.sbatch", "megatron.sh", "notes.txt", ".gpuwise-emit.json"}
