"""The launch files of a cluster plan, each read by the engine's own code: torchrun.sh run by
bash (torchrun replaced by a stub that records its words and environment) and its words parsed
by torch's own torchrun parser; job.sbatch against Slurm's documented options and run with
stub ``scontrol`` / ``srun``; the hostfile by DeepSpeed's launcher and ds_config.json by
DeepSpeed's config class; accelerate_config.yaml by accelerate's loader and launcher; the
torchtitan arguments by torchtitan's ConfigManager and ParallelDims."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from gpuwise.catalog import load_catalog
from gpuwise.cluster import make_cluster
from gpuwise.cluster.layout import Layout, layout_problem
from gpuwise.cluster.network import network
from gpuwise.engines import write_launch_files
from gpuwise.engines.cluster_emit import cluster_launch_files
from gpuwise.errors import GpuwiseError
from gpuwise.record import replace
from gpuwise.workload import Workload

from .launcher import clean_env

BASH = shutil.which("bash")
pytestmark = pytest.mark.skipif(BASH is None, reason="needs bash")

#: A stub for a command: its name, words and environment, NUL-separated, into $ARGV_OUT.
STUB = '#!/bin/sh\nprintf "%s\\0" "$(basename "$0")" "$@" > "$ARGV_OUT"\nenv > "$ARGV_OUT.env"\n'
SBATCH = json.loads((Path(__file__).parent / "data" / "sbatch_options.json").read_text())


def h100():
    return load_catalog().find("h100-sxm-80gb")


def cluster(nodes: int = 4, gpus: int = 8, net: str = "ib-ndr"):
    return make_cluster(h100(), nodes, gpus, network(net) if nodes > 1 else None)


def emit(tmp_path, spec, w, cl, layout, model_ref="meta-llama/Llama-3.1-70B", **kw) -> Path:
    assert layout_problem(spec, w, cl, layout) is None, layout_problem(spec, w, cl, layout)
    folder = tmp_path / "launch"
    files = cluster_launch_files(spec, w, cl, layout, model_ref=model_ref, **kw)
    write_launch_files(folder, files)
    return folder


def run(folder: Path, script: str, stub: str, env: dict[str, str], *extra: str):
    """Run ``script`` with bash, ``stub`` (and scontrol, srun) on PATH as recorders: the stub's
    words and the environment it saw."""
    bin_dir = folder.parent / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name in {stub, "srun"}:
        (bin_dir / name).write_text(STUB)
        (bin_dir / name).chmod(0o755)
    (bin_dir / "scontrol").write_text("#!/bin/sh\nprintf 'gpu-a17\\ngpu-a18\\n'\n")
    (bin_dir / "scontrol").chmod(0o755)
    out = folder.parent / "argv"
    full = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "ARGV_OUT": str(out), **env}
    subprocess.run([BASH, str(folder / script), *extra], env=full, check=True, timeout=60)
    words = out.read_bytes().decode().split("\0")[:-1]
    seen = dict(
        line.split("=", 1) for line in Path(f"{out}.env").read_text().splitlines() if "=" in line
    )
    return words, seen


TITAN = Layout(tp=8, pp=2, dp=2, sharding="fsdp", sequence_parallel=True,
               schedule="interleaved", virtual_stages=2, micro_batches=8)  # fmt: skip
ZERO3 = Layout(dp=32, sharding="zero3", micro_batches=2)


@pytest.fixture(scope="module")
def llama_70b():
    from gpuwise.models import load_model

    return load_model("llama-3.1-70b")


# --- torchrun ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("net", "want", "absent"),
    [
        ("ib-ndr", {"NCCL_IB_HCA": "mlx5", "NCCL_SOCKET_IFNAME": "^lo,docker"}, "NCCL_IB_DISABLE"),
        ("roce-400", {"NCCL_IB_HCA": "mlx5", "NCCL_IB_GID_INDEX": "3"}, "NCCL_IB_DISABLE"),
        ("eth-100", {"NCCL_IB_DISABLE": "1", "NCCL_SOCKET_IFNAME": "eth0"}, "NCCL_IB_HCA"),
    ],
)
@pytest.mark.parametrize("layout", [TITAN, ZERO3], ids=["titan", "zero3"])
def test_torchrun_parses_in_torch(tmp_path, llama_70b, net, want, absent, layout):
    from torch.distributed.run import config_from_args, get_args_parser

    cl = cluster(4, 8, net)
    w = Workload(batch=1, seq=8192, grad_checkpointing=True)
    folder = emit(tmp_path, llama_70b, w, cl, layout)
    env = (
        {"MASTER_ADDR": "gpu-a17", "NCCL_SOCKET_IFNAME": "ib0"}
        if net == "eth-100"
        else {"MASTER_ADDR": "gpu-a17"}
    )
    words, seen = run(folder, "torchrun.sh", "torchrun", env)
    assert words[0] == "torchrun"
    args = get_args_parser().parse_args(words[1:])
    config, _cmd, cmd_args = config_from_args(args)
    cmd_args = cmd_args[1:] if cmd_args[0] == "-u" else cmd_args  # python -u
    assert (config.min_nodes, config.max_nodes) == (4, 4)
    assert config.nproc_per_node == 8
    assert config.rdzv_backend == "c10d"
    assert config.rdzv_endpoint == "gpu-a17:29500"
    assert config.run_id == "gpuwise"
    assert config.max_restarts == 0
    # the user's own interface wins over the default; the rest are the network's defaults
    for var, value in want.items():
        assert seen[var] == (env.get(var) or value), var
    assert absent not in seen
    if layout is TITAN:
        assert cmd_args[:2] == ["-m", "torchtitan.train"]
    else:
        assert cmd_args[0] == "train.py"
        assert cmd_args[1:3] == ["--model", "meta-llama/Llama-3.1-70B"]
        assert seen["ACCELERATE_USE_DEEPSPEED"] == "true"


def test_torchrun_refuses_without_the_rendezvous_host(tmp_path, llama_70b):
    folder = emit(tmp_path, llama_70b, Workload(seq=8192), cluster(), ZERO3)
    env = {"PATH": os.environ["PATH"], "ARGV_OUT": str(tmp_path / "x")}
    done = subprocess.run(
        [BASH, str(folder / "torchrun.sh")], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "MASTER_ADDR" in done.stderr
    assert not (tmp_path / "x").exists()


# --- Slurm ---------------------------------------------------------------------------------


def sbatch_directives(text: str) -> list[tuple[str, str | None]]:
    """The #SBATCH lines sbatch reads: those before the first command."""
    out = []
    for line in text.splitlines()[1:]:
        if line.startswith("#SBATCH"):
            opt = line.split(None, 1)[1]
            name, eq, value = opt.partition("=")
            out.append((name, value if eq else None))
        elif line.strip() and not line.startswith("#"):
            break
    return out


SLURM_TIME = re.compile(r"(\d+-\d{1,2}(:\d{2}(:\d{2})?)?|\d+(:\d{2}){0,2})")


@pytest.mark.parametrize("time_s", [None, 90.0, 5 * 3600.0, 30 * 86400.0])
@pytest.mark.parametrize(("nodes", "gpus"), [(2, 8), (8, 4), (64, 8)])
def test_sbatch_is_what_slurm_documents(tmp_path, llama_70b, nodes, gpus, time_s):
    cl = cluster(nodes, gpus)
    layout = Layout(dp=nodes * gpus, sharding="fsdp")
    folder = emit(tmp_path, llama_70b, Workload(), cl, layout, time_s=time_s)
    text = (folder / "job.sbatch").read_text()
    subprocess.run([BASH, "-n", str(folder / "job.sbatch")], check=True, timeout=60)
    given = dict(sbatch_directives(text))
    for name, value in given.items():
        assert name.startswith("--") and name[2:] in SBATCH["options"], name
        assert (value is not None) == SBATCH["options"][name[2:]], name
    assert given["--nodes"] == str(nodes)
    assert given["--ntasks-per-node"] == "1"
    assert given["--gpus-per-node"] == str(gpus)
    assert int(given["--cpus-per-task"]) >= gpus
    assert SLURM_TIME.fullmatch(given["--time"])
    days, _, hms = given["--time"].partition("-")
    h, m, s = (int(x) for x in hms.split(":"))
    minutes = int(days) * 1440 + h * 60 + m + s / 60
    if time_s is None:
        assert "placeholder" in text
    else:
        assert time_s / 60 <= minutes <= time_s * 1.2 / 60 + 1  # never shorter than the plan


SLURM_CONF = """ClusterName=gpuwise-check
GresTypes=gpu
SlurmctldHost=localhost
SlurmctldPort=1
MessageTimeout=1
NodeName=node[0-63] CPUs=256 Gres=gpu:8 State=UNKNOWN
PartitionName=main Nodes=ALL Default=YES State=UP
"""


@pytest.mark.skipif(shutil.which("sbatch") is None, reason="needs Slurm's sbatch (slurm-client)")
@pytest.mark.parametrize(("nodes", "gpus", "time_s"), [(2, 8, None), (64, 4, 3e5), (8, 8, 600.0)])
def test_real_sbatch_reads_every_directive(tmp_path, llama_70b, nodes, gpus, time_s):
    """Slurm's own sbatch (slurm-client, Debian's 22.05 here) parses the directives and gets as
    far as asking a controller for the job: with none running (a config naming no reachable
    one), that is the only error. A misspelt directive fails earlier, so the check can fail."""
    conf = tmp_path / "slurm.conf"
    conf.write_text(SLURM_CONF)
    layout = Layout(dp=nodes * gpus, sharding="fsdp")
    folder = emit(tmp_path, llama_70b, Workload(), cluster(nodes, gpus), layout, time_s=time_s)
    env = {**os.environ, "SLURM_CONF": str(conf)}

    def sbatch(path: Path) -> str:
        done = subprocess.run(["sbatch", str(path)], env=env, capture_output=True, text=True,
                              timeout=60, cwd=folder)  # fmt: skip
        assert done.returncode != 0  # never submitted anywhere
        return done.stderr

    said = sbatch(folder / "job.sbatch")
    assert "Unable to contact slurm controller" in said, said
    assert "nvalid" not in said and "unrecognized" not in said, said
    bad = tmp_path / "bad.sbatch"
    bad.write_text((folder / "job.sbatch").read_text().replace("--nodes=", "--nodez=", 1))
    assert "unrecognized option" in sbatch(bad)


def test_sbatch_runs_torchrun_on_every_node_with_the_first_as_host(tmp_path, llama_70b):
    folder = emit(tmp_path, llama_70b, Workload(seq=8192), cluster(2, 8), Layout(dp=16))
    env = {"SLURM_JOB_NODELIST": "gpu-a[17-18]", "SLURM_JOB_ID": "4242",
           "SLURM_SUBMIT_DIR": str(folder)}  # fmt: skip
    words, seen = run(folder, "job.sbatch", "srun", env)
    assert words[0] == "srun"
    assert "--ntasks-per-node=1" in words and "--nodes=2" in words
    assert words[-2:] == ["bash", str(folder / "torchrun.sh")]
    assert (seen["MASTER_ADDR"], seen["MASTER_PORT"], seen["RDZV_ID"]) == (
        "gpu-a17", "29500", "4242")  # fmt: skip


# --- DeepSpeed -----------------------------------------------------------------------------


@pytest.mark.parametrize("stage", [1, 2, 3])
@pytest.mark.parametrize("tp", [1, 2, 8])
def test_deepspeed_reads_hostfile_and_config(tmp_path, monkeypatch, llama_70b, stage, tp):
    pytest.importorskip("deepspeed")
    import deepspeed.runtime.config as ds_config_module
    from deepspeed.launcher.runner import fetch_hostfile
    from deepspeed.runtime.config import DeepSpeedConfig

    cl = cluster(2, 8)
    layout = Layout(tp=tp, dp=16 // tp, sharding=f"zero{stage}", micro_batches=4)
    w = Workload(batch=2, seq=4096)
    folder = emit(tmp_path, llama_70b, w, cl, layout)
    pool = fetch_hostfile(str(folder / "hostfile"))
    assert list(pool.values()) == [8, 8]
    assert len(set(pool)) == 2

    class DataParallelGroup:  # what DeepSpeed asks an mpu: the data-parallel size
        def get_data_parallel_world_size(self):
            return layout.dp

    monkeypatch.setattr(ds_config_module.dist, "get_rank", lambda *a, **k: 0)
    cfg = DeepSpeedConfig(str(folder / "ds_config.json"), mpu=DataParallelGroup())
    assert cfg.zero_optimization_stage == stage
    # DeepSpeed's own check: train = micro x accumulation x data-parallel size
    assert cfg.train_batch_size == 2 * 4 * layout.dp
    assert cfg.gradient_accumulation_steps == 4
    assert cfg.tensor_parallel_config.autotp_size == (tp if tp > 1 else 0)
    # and accelerate's plugin, which the Accelerator of train.py builds from the file
    from accelerate.utils import DeepSpeedPlugin

    plugin = DeepSpeedPlugin(hf_ds_config=str(folder / "ds_config.json"))
    assert plugin.zero_stage == stage
    assert (folder / ".deepspeed_env").exists() == (tp == 1)
    if tp == 1:  # DeepSpeed's own launch, as the hostfile's header gives it
        from deepspeed.launcher.runner import parse_args

        text = (folder / "hostfile").read_text()
        (line,) = [ln for ln in text.splitlines() if ln.startswith("#   deepspeed ")]
        args = parse_args(line.removeprefix("#").split()[1:])
        assert args.hostfile == "hostfile" and args.master_port == 29500
        assert args.user_script == "train.py" and args.user_args == ["--model", "MODEL"]
        # .deepspeed_env as DeepSpeed's runner reads it gives train.py's Accelerator ZeRO
        env = dict(
            ln.split("=", maxsplit=1) for ln in (folder / ".deepspeed_env").read_text().splitlines()
        )
        monkeypatch.chdir(folder)
        with clean_env(**env):
            plugin = DeepSpeedPlugin()
        assert plugin.zero_stage == stage
        assert plugin.gradient_accumulation_steps == 4


def test_no_deepspeed_files_without_zero(tmp_path, llama_70b):
    folder = emit(tmp_path, llama_70b, Workload(), cluster(2, 8), Layout(dp=16, sharding="fsdp"))
    assert not (folder / "hostfile").exists() and not (folder / "ds_config.json").exists()


# --- accelerate ----------------------------------------------------------------------------


@pytest.mark.parametrize("sharding", ["ddp", "fsdp", "hsdp", "zero2", "zero3"])
def test_accelerate_multi_node_config(tmp_path, llama_70b, sharding):
    from accelerate.commands.config.config_args import ClusterConfig
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser

    cl = cluster(4, 8)
    layout = Layout(dp=32, sharding=sharding, micro_batches=2)
    folder = emit(tmp_path, llama_70b, Workload(), cl, layout)
    path = folder / "accelerate_config.yaml"
    cfg = ClusterConfig.from_yaml_file(str(path))  # unknown keys would raise
    assert (cfg.num_machines, cfg.num_processes, cfg.machine_rank) == (4, 32, 0)
    assert cfg.rdzv_backend == "c10d" and cfg.main_process_port == 29500
    # what `accelerate launch` on node 3 makes of it
    argv = ["--config_file", str(path), "--machine_rank", "3",
            "--main_process_ip", "gpu-a17", "train.py"]  # fmt: skip
    args, _, _ = _validate_launch_command(launch_command_parser().parse_args(argv))
    assert (args.num_machines, args.num_processes, args.machine_rank) == (4, 32, 3)
    assert args.main_process_ip == "gpu-a17"
    if sharding == "hsdp":  # shard within a node, replicate across the 4 nodes
        par = cfg.parallelism_config
        assert par["parallelism_config_dp_replicate_size"] == 4
        assert par["parallelism_config_dp_shard_size"] == 8
    assert args.use_deepspeed == sharding.startswith("zero")
    if sharding.startswith("zero"):
        assert cfg.deepspeed_config["deepspeed_multinode_launcher"] == "standard"


# --- torchtitan ----------------------------------------------------------------------------


def titan_config(words: list[str]):
    """torchtitan's ConfigManager over the words torchrun passes ``-m torchtitan.train``.
    Skipped where torchtitan (scripts/test.sh installs it) does not import; in CI, failed."""
    try:
        import torchtitan.models.llama3.config_registry  # noqa: F401
        from torchtitan.config import ConfigManager
    except ImportError as e:
        why = f"torchtitan does not import here ({e}); scripts/test.sh installs it"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    return ConfigManager().parse_args(words)


TITAN_CASES = [
    (TITAN, 4),
    (Layout(tp=4, cp=2, dp=4, sharding="hsdp", micro_batches=2), 4),
    (Layout(tp=8, pp=4, dp=1, sharding="ddp", micro_batches=8), 4),
    (Layout(tp=2, pp=2, dp=8, sharding="zero1", micro_batches=4), 4),
    (Layout(tp=8, dp=2, sharding="zero3", micro_batches=2), 2),
]


@pytest.mark.parametrize(("layout", "nodes"), TITAN_CASES)
def test_torchtitan_parses_the_layout(tmp_path, llama_70b, layout, nodes):
    cl = cluster(nodes, 8)
    w = Workload(batch=2, seq=8192, grad_checkpointing=layout.pp > 1)
    folder = emit(tmp_path, llama_70b, w, cl, layout)
    words, _ = run(
        folder, "torchrun.sh", "torchrun", {"MASTER_ADDR": "gpu-a17"}, "--training.steps", "7"
    )
    cfg = titan_config(words[words.index("torchtitan.train") + 1 :])
    from torchtitan.distributed.parallel_dims import ParallelDims
    from torchtitan.distributed.pipeline_parallel import _get_pipeline_metadata

    par = cfg.parallelism
    assert (par.tensor_parallel_degree, par.pipeline_parallel_degree) == (layout.tp, layout.pp)
    assert par.context_parallel_degree == layout.cp
    assert par.enable_sequence_parallel is layout.sequence_parallel
    assert par.data_parallel_replicate_degree * par.data_parallel_shard_degree == layout.dp
    dims = ParallelDims.from_config(par, cl.world)  # torchtitan's own check of the world
    assert dims.world_size == cl.world
    assert cfg.training.seq_len == 8192
    # bf16 as the plan counts it: bf16 weights, gradients and states; under ZeRO the fp32
    # master weights it keeps (sharded fp32 weights, bf16 compute)
    zero = layout.sharding.startswith("zero")
    assert cfg.training.dtype == ("float32" if zero else "bfloat16")
    assert cfg.training.mixed_precision_param == "bfloat16"
    assert cfg.training.steps == 7  # the user's own arguments come through
    # torchtitan's global batch = micro-batch x micro-batches x data-parallel replicas
    assert cfg.training.global_batch_size == 2 * layout.micro_batches * layout.dp
    ckpt = type(cfg.activation_checkpoint).__qualname__
    assert (
        ckpt.startswith("FullAC") if w.grad_checkpointing else "None" in ckpt or ckpt == "NoneType"
    )
    if layout.pp > 1:
        stages, layers, _, _ = _get_pipeline_metadata(dims, par, cfg.model_spec.model)
        assert layers == llama_70b.num_layers
        assert stages == layout.pp * layout.virtual_stages
        assert cfg.training.local_batch_size // par.pipeline_parallel_microbatch_size == (
            layout.micro_batches
        )


def test_torchtitan_placeholders_for_a_model_it_lacks(tmp_path):
    from gpuwise.models import load_model

    spec = load_model("gemma-2-9b")
    folder = emit(tmp_path, spec, Workload(seq=4096), cluster(2, 8),
                  Layout(tp=2, dp=8, sharding="fsdp"), model_ref="google/gemma-2-9b")  # fmt: skip
    env = {"MASTER_ADDR": "gpu-a17", "PATH": os.environ["PATH"], "ARGV_OUT": str(tmp_path / "x")}
    done = subprocess.run([BASH, str(folder / "torchrun.sh")], env=env, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode != 0 and "TT_MODULE" in done.stderr


# --- every file ----------------------------------------------------------------------------


@pytest.mark.parametrize("layout", [TITAN, ZERO3], ids=["titan", "zero3"])
def test_every_file_names_its_plan(llama_70b, layout):
    files = cluster_launch_files(llama_70b, Workload(seq=8192), cluster(), layout,
                                 model_ref="meta-llama/Llama-3.1-70B")  # fmt: skip
    assert {"torchrun.sh", "job.sbatch"} <= set(files)
    assert ("ds_config.json" in files) == ("train.py" in files) == (layout is ZERO3)
    for name, text in files.items():
        if name == ".deepspeed_env":  # DeepSpeed's KEY=VALUE file has no comments
            continue
        if name == "train.py":  # still the module's docstring after the header's comments
            assert ast.get_docstring(ast.parse(text)).startswith("Training script written")
        if name == "ds_config.json":
            assert json.loads(text)["_gpuwise"]["plan"].endswith("x 8192 tokens")
        else:
            assert "FILL IN" in text, name
        assert "gpuwise plan --emit" in text and layout.text() in text, name


@pytest.mark.parametrize("bad", ["H100\nrm -rf ~", "H100\u202e", "H100\x1b[2J"])
def test_refuses_unsafe_text(llama_70b, bad):
    cl = replace(cluster(), card=replace(h100(), name=bad))
    with pytest.raises(GpuwiseError) as e:
        cluster_launch_files(llama_70b, Workload(), cl, ZERO3, model_ref="m")
    assert "\n" not in str(e.value) and "card's name" in str(e.value)


@pytest.mark.parametrize(
    ("precision", "want"), [("amp-bf16", ("float32", "bfloat16")), ("fp32", ("float32", "float32"))]
)
def test_torchtitan_precision(tmp_path, llama_70b, precision, want):
    w = Workload(precision=precision, seq=4096)
    folder = emit(tmp_path, llama_70b, w, cluster(2, 8), Layout(tp=8, dp=2, sharding="fsdp"))
    words, _ = run(folder, "torchrun.sh", "torchrun", {"MASTER_ADDR": "gpu-a17"})
    cfg = titan_config(words[words.index("torchtitan.train") + 1 :])
    assert (cfg.training.dtype, cfg.training.mixed_precision_param) == want


@pytest.mark.parametrize(
    "w", [Workload(method="lora"), Workload(precision="fp16"), Workload(precision="amp-fp16")]
)
def test_torchtitan_refuses_what_it_cannot_train(llama_70b, w):
    with pytest.raises(GpuwiseError) as e:
        cluster_launch_files(llama_70b, w, cluster(2, 8), Layout(tp=8, dp=2), model_ref="m")
    assert "\n" not in str(e.value) and "torchtitan" in str(e.value)


# --- Megatron-LM ---------------------------------------------------------------------------


def megatron_validated(monkeypatch, words: list[str], world: int):
    """Megatron-LM's own parser (``add_megatron_arguments``) and ``validate_args`` over the
    words torchrun passes pretrain_gpt.py, as rank 0 of ``world`` on a Hopper card. Megatron's
    training code is not on PyPI (megatron-core holds only megatron/core): the test runs where
    ``GPUWISE_MEGATRON_LM`` names a Megatron-LM checkout (core_v0.16.1; it also needs ``six``),
    and is skipped elsewhere."""
    import argparse
    import contextlib
    import io

    root = os.environ.get("GPUWISE_MEGATRON_LM")
    if root:
        monkeypatch.syspath_prepend(root)
    try:
        import megatron.training.arguments as megatron_arguments
    except ImportError as e:
        pytest.skip(f"Megatron-LM's training code does not import ({e}); set GPUWISE_MEGATRON_LM")
    # the one thing validate_args asks the GPU: its architecture (9: Hopper, the plan's H100)
    monkeypatch.setattr(megatron_arguments, "get_device_arch_version", lambda: 9)
    parser = argparse.ArgumentParser(allow_abbrev=False)
    megatron_arguments.add_megatron_arguments(parser)
    args = parser.parse_args(words)
    args.rank, args.world_size = 0, world
    with contextlib.redirect_stdout(io.StringIO()):  # it prints every argument
        megatron_arguments.validate_args(args)
    return args


MEGATRON_CASES = [
    ("llama-3.1-70b", replace(TITAN, sharding="zero1"), 4),
    ("llama-3.1-70b", Layout(tp=4, cp=2, dp=4, sharding="ddp", micro_batches=2), 4),
    ("llama-3.1-70b", Layout(tp=8, pp=4, dp=1, micro_batches=8), 4),
    ("qwen2.5-7b", Layout(tp=2, pp=2, dp=4, sharding="zero1", micro_batches=4), 2),
    ("qwen3-8b", Layout(tp=4, sequence_parallel=True, dp=4, micro_batches=2), 2),
]  # fmt: skip


@pytest.mark.parametrize(("model", "layout", "nodes"), MEGATRON_CASES)
def test_megatron_validates_the_layout(tmp_path, monkeypatch, model, layout, nodes):
    from gpuwise.models import load_model

    spec = load_model(model)
    cl = cluster(nodes, 8)
    w = Workload(batch=1, seq=8192, grad_checkpointing=layout.pp > 1)
    folder = emit(tmp_path, spec, w, cl, layout, model_ref="org/model")
    env = {"MASTER_ADDR": "gpu-a17", "MEGATRON_LM": "/opt/Megatron-LM"}
    words, seen = run(folder, "megatron.sh", "torchrun", env)
    script = words.index("/opt/Megatron-LM/pretrain_gpt.py")
    monkeypatch.setenv("CUDA_DEVICE_MAX_CONNECTIONS", seen["CUDA_DEVICE_MAX_CONNECTIONS"])
    args = megatron_validated(monkeypatch, words[script + 1 :], cl.world)
    assert "megatron.sh instead of torchrun.sh" in (folder / "job.sbatch").read_text()
    assert args.data_parallel_size == layout.dp
    assert (args.tensor_model_parallel_size, args.pipeline_model_parallel_size) == (
        layout.tp, layout.pp)  # fmt: skip
    assert args.context_parallel_size == layout.cp
    assert args.sequence_parallel is layout.sequence_parallel
    assert args.use_distributed_optimizer is (layout.sharding == "zero1")
    # Megatron's micro-batches a step: global / (micro x dp) = the layout's mb
    assert args.global_batch_size // (args.micro_batch_size * args.data_parallel_size) == (
        layout.micro_batches
    )
    if layout.schedule == "interleaved":
        assert args.virtual_pipeline_model_parallel_size == layout.virtual_stages
    assert (args.num_layers, args.hidden_size, args.num_query_groups) == (
        spec.num_layers, spec.hidden_size, spec.num_kv_heads)  # fmt: skip
    assert args.tokenizer_model == "org/model"
    assert args.bf16


def test_no_megatron_where_it_cannot_run(llama_70b):
    """Megatron-FSDP (fsdp, zero2/3, hsdp) beside tensor parallel, a model family Megatron's
    arguments here do not describe, or data parallel alone: no megatron.sh."""
    from gpuwise.models import load_model

    gemma = load_model("gemma-2-9b")
    cases = [
        (llama_70b, Layout(tp=8, dp=2, sharding="fsdp")),
        (llama_70b, Layout(tp=8, dp=2, sharding="zero2")),
        (gemma, Layout(tp=8, dp=2, sharding="ddp")),
        (llama_70b, Layout(dp=16)),
    ]
    assert len(cases) == 4
    for spec, layout in cases:
        files = cluster_launch_files(spec, Workload(), cluster(2, 8), layout, model_ref="m")
        assert "megatron.sh" not in files and "torchrun.sh" in files
    files = cluster_launch_files(
        llama_70b, Workload(), cluster(2, 8), Layout(tp=8, dp=2), model_ref="m"
    )
    assert "megatron.sh" in files


def test_one_node_layout_is_its_own_rendezvous(tmp_path, llama_70b):
    """`plan --layout tp=8` on one node: torchrun.sh runs as it is, on localhost."""
    from torch.distributed.run import config_from_args, get_args_parser

    cl = make_cluster(h100(), 1, 8, None)
    folder = emit(tmp_path, llama_70b, Workload(seq=4096), cl, Layout(tp=8))
    words, seen = run(folder, "torchrun.sh", "torchrun", {})  # no MASTER_ADDR given
    config, _, _ = config_from_args(get_args_parser().parse_args(words[1:]))
    assert (config.max_nodes, config.rdzv_endpoint) == (1, "localhost:29500")
    assert not any(k.startswith("NCCL_") for k in seen)  # no network between nodes
