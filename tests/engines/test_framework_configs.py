"""The configs `plan --emit --framework X` writes load in each framework's own parser: TRL's
SFTConfig and peft's LoraConfig built by the emitted script itself, LLaMA-Factory's
``get_train_args`` and axolotl's ``validate_config``; torchtune's against the signatures of
its components and the keys of its recipes read from torchtune 0.6.1 (data/torchtune_0.6.1.json;
its own ``config.validate`` too where torchtune imports); and the defaults gpuwise read from
each framework's source are the installed framework's. A framework that is not installed is
skipped, saying so (scripts/test.sh installs TRL, LLaMA-Factory and axolotl)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

DATA = Path(__file__).resolve().parents[2] / "src/gpuwise/frameworks/data/frameworks.json"
FRAMEWORKS = json.loads(DATA.read_text(encoding="utf-8"))["frameworks"]

#: plans whose files each framework must take: methods, precisions, tricks, several cards
PLANS = {
    "qlora": ("llama-3.1-8b", "--method", "qlora", "--gpu", "4090"),
    "lora-tricks": ("llama-3.1-8b", "--method", "lora", "--gpu", "4090", "--batch", "2",
                    "--seq", "1024", "--grad-checkpointing", "offload", "--packing",
                    "--lora-targets", "q_proj,v_proj,down_proj", "--lora-rank", "32"),
    "full-bf16": ("qwen2.5-0.5b", "--method", "full", "--gpu", "4090", "--precision", "bf16"),
    "full-amp": ("qwen2.5-0.5b", "--method", "full", "--gpu", "4090", "--precision", "amp-bf16",
                 "--loss", "fused"),
    "lora-fp16-2gpu": ("mistral-7b", "--method", "lora", "--gpu", "T4", "--precision", "fp16",
                       "--gpus", "2", "--strategy", "zero2", "--loss", "chunked"),
    "lora-fsdp-offload": ("qwen2.5-0.5b", "--method", "lora", "--gpu", "4090", "--gpus", "2",
                          "--strategy", "fsdp-offload", "--precision", "bf16"),
}  # fmt: skip


def emitted(cli, tmp_path: Path, framework: str, plan: str) -> tuple[Path, dict]:
    folder = tmp_path / f"{framework}-{plan}"
    r = cli("plan", *PLANS[plan], "--framework", framework, "--emit", str(folder), "--json")
    assert r.code == 0, r.err
    return folder, r.json()


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@pytest.fixture
def gpu_checks_pass(monkeypatch):
    """The parsers refuse bf16 where no CUDA card is (this machine): the files are for one."""
    import transformers.training_args as ta

    monkeypatch.setattr(ta, "is_torch_bf16_gpu_available", lambda: True)


#: torchtune 0.6.1's component signatures and recipe keys, read from the installed package:
#: it needs a torchao (< 0.16) that peft (>= 0.16) refuses, so it is not in the test
#: environment; its own validate runs below wherever it imports.
TORCHTUNE = json.loads((Path(__file__).parent / "data/torchtune_0.6.1.json").read_text())


def _bind(component: str, kwargs: dict) -> list[str]:
    """What ``torchtune.config.validate`` would refuse: arguments the component does not take."""
    if component.startswith("torch."):
        import inspect
        from importlib import import_module

        module, name = component.rsplit(".", 1)
        params = inspect.signature(getattr(import_module(module), name)).parameters
        taken = {n for n, p in params.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        free = any(p.kind == p.VAR_KEYWORD for p in params.values())
    elif component.startswith("bitsandbytes.optim."):  # CUDA's; the names its docs give
        assert component.rsplit(".", 1)[1] in ("PagedAdamW8bit", "AdamW8bit")
        taken, free = {"lr", "betas", "eps", "weight_decay"}, False
    else:
        entry = TORCHTUNE["components"][component]
        taken, free = set(entry["params"]), entry["var_keyword"]
    return [] if free else sorted(set(kwargs) - taken)


@pytest.mark.parametrize("plan", list(PLANS))
def test_torchtune_config_binds_and_has_the_recipe_s_keys(cli, tmp_path, plan):
    folder, doc = emitted(cli, tmp_path, "torchtune", plan)
    text = (folder / "torchtune_config.yaml").read_text()
    cfg = yaml.safe_load(text)
    recipe = text.split("# Run: ", 1)[1].split("--config")[0].split()[-1]
    keys = TORCHTUNE["recipes"][recipe]
    assert set(keys["required"]) <= set(cfg), set(keys["required"]) - set(cfg)
    assert set(cfg) <= set(keys["required"]) | set(keys["optional"])
    for node in cfg.values():
        if isinstance(node, dict) and "_component_" in node:
            args = {k: v for k, v in node.items() if k != "_component_"}
            assert _bind(node["_component_"], args) == [], node["_component_"]
    w = doc["workload"]
    assert recipe.startswith("full" if w["method"] == "full" else "lora")
    assert recipe.endswith("single_device" if doc["parallel"]["gpus"] == 1 else "distributed")
    assert cfg["batch_size"] == w["batch"] and cfg["tokenizer"]["max_seq_len"] == w["seq"]
    assert cfg["enable_activation_checkpointing"] == w["grad_checkpointing"]
    if w["method"] != "full":
        assert cfg["model"]["lora_rank"] == w["lora_rank"]
        assert cfg["model"]["quantize_base"] == (w["method"] == "qlora")
    if _has("torchtune"):  # where it imports (a torchao it accepts): its own validate too
        from omegaconf import OmegaConf
        from torchtune import config

        if not _has("bitsandbytes"):  # CUDA's: its optimizer was checked by name above
            cfg["optimizer"] = {"_component_": "torch.optim.AdamW", "lr": 1.0e-4}
        config.validate(OmegaConf.create(cfg))


@pytest.mark.parametrize("plan", list(PLANS))
def test_trl_script_builds_its_configs(cli, tmp_path, plan, gpu_checks_pass):
    pytest.importorskip("trl", reason="TRL not installed (the frameworks extra)")
    folder, doc = emitted(cli, tmp_path, "trl", plan)
    spec = importlib.util.spec_from_file_location(f"trl_sft_{plan}", folder / "trl_sft.py")
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)  # defines, runs nothing (main() under __main__)
    sft = script.sft_config()
    w = doc["workload"]
    assert sft.per_device_train_batch_size == w["batch"] and sft.max_length == w["seq"]
    assert sft.gradient_checkpointing == w["grad_checkpointing"]
    assert sft.packing == w["packing"]
    assert "loss_type" not in script.SETTINGS["sft"]  # TRL's own, chunked
    said = "TRL computes it in chunks" in (folder / "trl_sft.py").read_text()
    assert said == (w["loss"] == "full")
    assert sft.use_liger_kernel == (w["loss"] == "fused")
    lora = script.lora_config()
    if w["method"] == "full":
        assert lora is None
    else:
        assert lora.r == w["lora_rank"] and lora.lora_alpha == 2 * w["lora_rank"]
    if w["method"] == "qlora":
        q = script.model_init_kwargs()["quantization_config"]
        assert q.load_in_4bit and q.bnb_4bit_quant_type == "nf4" and q.bnb_4bit_use_double_quant


@pytest.mark.parametrize("plan", list(PLANS))
def test_llamafactory_config_parses(cli, tmp_path, plan, gpu_checks_pass, monkeypatch):
    monkeypatch.setenv("DISABLE_VERSION_CHECK", "1")  # installed without its pinned deps
    if not _has("llamafactory"):
        pytest.skip("LLaMA-Factory not installed (scripts/test.sh)")
    folder, doc = emitted(cli, tmp_path, "llamafactory", plan)  # before its import logs
    import llamafactory.hparams.parser as parser

    monkeypatch.setattr(parser, "is_torch_bf16_gpu_available", lambda: True)
    # the packages a run needs (liger-kernel for the fused loss: Triton, CUDA's) are the GPU
    # machine's; their names are what is checked here
    needed = []
    monkeypatch.setattr(parser, "check_version", lambda req, mandatory=False: needed.append(req))
    cfg = yaml.safe_load((folder / "llamafactory_train.yaml").read_text())
    if "deepspeed" in cfg:
        # the DeepSpeed config emitted beside it (tests/engines/test_deepspeed_loads.py loads
        # it); LLaMA-Factory takes it only under torchrun, so the rest is parsed without it
        assert (folder / cfg.pop("deepspeed")).is_file()
        run = (folder / "llamafactory_train.yaml").read_text().split("# Run: ", 1)[1]
        assert run.startswith("FORCE_TORCHRUN=1 NPROC_PER_NODE=2 ")
    model, data, training, finetuning, _ = parser.get_train_args(cfg)
    w = doc["workload"]
    assert data.cutoff_len == w["seq"] and data.packing == w["packing"]
    assert training.per_device_train_batch_size == w["batch"]
    assert model.disable_gradient_checkpointing == (not w["grad_checkpointing"])
    assert finetuning.finetuning_type == ("full" if w["method"] == "full" else "lora")
    if w["method"] != "full":
        assert finetuning.lora_rank == w["lora_rank"]
    assert (model.quantization_bit == 4) == (w["method"] == "qlora")
    assert ("liger-kernel" in needed) == (w["loss"] == "fused")


@pytest.mark.parametrize("plan", list(PLANS))
def test_axolotl_config_validates(cli, tmp_path, plan):
    pytest.importorskip("axolotl", reason="axolotl not installed (scripts/test.sh)")
    from axolotl.utils.config import validate_config
    from axolotl.utils.dict import DictDefault

    folder, doc = emitted(cli, tmp_path, "axolotl", plan)
    cfg = DictDefault(yaml.safe_load((folder / "axolotl.yaml").read_text()))
    w = doc["workload"]
    caps = {"bf16": True, "fp8": False, "n_gpu": 1, "n_node": 1, "compute_capability": "sm_89"}
    out = validate_config(cfg, capabilities=caps, env_capabilities={"torch_version": "2.13.0"})
    assert out.micro_batch_size == w["batch"] and out.sequence_len == w["seq"]
    assert out.sample_packing == w["packing"]
    assert bool(out.gradient_checkpointing) == w["grad_checkpointing"]
    assert (out.adapter or "full") == w["method"].replace("full", "full")
    if w["method"] != "full":
        assert out.lora_r == w["lora_rank"]


def test_trl_defaults_are_the_installed_trl_s():
    pytest.importorskip("trl", reason="TRL not installed (the frameworks extra)")
    from trl import SFTConfig

    fields = SFTConfig.__dataclass_fields__
    want = {d["key"]: d["value"] for d in FRAMEWORKS["trl"]["defaults"]}
    assert fields["gradient_checkpointing"].default is want["grad_checkpointing"]
    assert fields["packing"].default is False
    # chunked_nll (1.9's default), or nll, which computes it the same way in later releases
    assert fields["loss_type"].default in ("chunked_nll", "nll")
    assert "chunked_nll" in fields["loss_type"].metadata["choices"]


def test_llamafactory_defaults_are_the_installed_ones(monkeypatch):
    monkeypatch.setenv("DISABLE_VERSION_CHECK", "1")
    pytest.importorskip("llamafactory", reason="LLaMA-Factory not installed (scripts/test.sh)")
    from llamafactory.hparams import FinetuningArguments, ModelArguments

    want = {d["key"]: d["value"] for d in FRAMEWORKS["llamafactory"]["defaults"]}
    finetuning = FinetuningArguments.__dataclass_fields__
    model = ModelArguments.__dataclass_fields__
    assert finetuning["lora_rank"].default == want["lora_rank"]
    assert finetuning["lora_target"].default == "all"
    assert model["disable_gradient_checkpointing"].default is (not want["grad_checkpointing"])
    assert model["upcast_layernorm"].default is False


def test_axolotl_defaults_are_the_installed_ones():
    pytest.importorskip("axolotl", reason="axolotl not installed (scripts/test.sh)")
    from axolotl.utils.schemas.config import AxolotlInputConfig

    fields = AxolotlInputConfig.model_fields
    assert fields["optimizer"].default == "adamw_torch_fused"
    assert fields["gradient_checkpointing"].default is False
    assert fields["sample_packing"].default in (None, False)


def test_torchtune_defaults_are_its_shipped_configs():
    configs = TORCHTUNE["configs"]
    lora = configs["llama3_1/8B_lora_single_device.yaml"]
    qlora = configs["llama3_1/8B_qlora_single_device.yaml"]
    full = configs["llama3_1/8B_full_single_device.yaml"]
    want = {d["key"]: d["value"] for d in FRAMEWORKS["torchtune"]["defaults"]}
    for cfg in (lora, qlora, full):
        assert cfg["enable_activation_checkpointing"] is want["grad_checkpointing"]
        assert cfg["enable_activation_offloading"] is False
    assert lora["model"]["lora_rank"] == qlora["model"]["lora_rank"] == want["lora_rank"]
    assert lora["optimizer"]["fused"] is True
    assert lora["model"]["lora_attn_modules"] == ["q_proj", "v_proj", "output_proj"]
    assert lora["model"]["apply_lora_to_mlp"] is True
    assert full["optimizer"]["_component_"] == "bitsandbytes.optim.PagedAdamW8bit"
    assert want["paged_adamw_8bit"] == "paged-adamw-8bit"
    assert full["optimizer_in_bwd"] is True is want["optimizer_in_bwd"]
    assert lora["loss"]["_component_"] == "torchtune.modules.loss.CEWithChunkedOutputLoss"


_keys = st.text(
    alphabet=st.characters(categories=["L", "N"], include_characters="_-"), min_size=1, max_size=12
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=20),
)
_values = st.recursive(
    _scalars | st.lists(_scalars, max_size=4),
    lambda inner: (
        st.dictionaries(_keys, inner, max_size=4)
        | st.lists(st.dictionaries(_keys, _scalars, min_size=1, max_size=3), min_size=1, max_size=3)
    ),
    max_leaves=12,
)


@given(st.dictionaries(_keys, _values, max_size=6))
def test_the_framework_yaml_reads_back_as_written(data):
    """Every config above is written by framework_yaml.dump: PyPI YAML reads back the values."""
    from gpuwise.engines.framework_yaml import dump

    assert yaml.safe_load(dump(data)) == (data or None)
