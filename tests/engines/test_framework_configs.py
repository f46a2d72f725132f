"""The configs `plan --emit --framework X` writes load in each framework's own parser:
torchtune's ``config.validate`` (every ``_component_`` resolved and its arguments bound), TRL's
SFTConfig and peft's LoraConfig built by the emitted script itself, LLaMA-Factory's
``get_train_args`` and axolotl's ``validate_config``; and the defaults gpuwise read from each
framework's source are the installed framework's. A framework that is not installed is
skipped, saying so (scripts/test.sh installs them all)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml

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


@pytest.mark.parametrize("plan", list(PLANS))
def test_torchtune_config_validates(cli, tmp_path, plan):
    pytest.importorskip("torchtune", reason="torchtune not installed (the frameworks extra)")
    from omegaconf import OmegaConf
    from torchtune import config

    folder, doc = emitted(cli, tmp_path, "torchtune", plan)
    cfg = OmegaConf.load(folder / "torchtune_config.yaml")
    if cfg.optimizer._component_.startswith("bitsandbytes.") and not _has("bitsandbytes"):
        # bitsandbytes is CUDA's (the measure extra); its class name is checked by name
        assert cfg.optimizer._component_.rsplit(".", 1)[1] in ("PagedAdamW8bit", "AdamW8bit")
        cfg.optimizer = {"_component_": "torch.optim.AdamW", "lr": cfg.optimizer.lr}
    config.validate(cfg)  # raises ConfigError naming each component that does not bind
    w = doc["workload"]
    assert cfg.batch_size == w["batch"] and cfg.tokenizer.max_seq_len == w["seq"]
    assert cfg.enable_activation_checkpointing == w["grad_checkpointing"]
    assert cfg.model.num_layers == cfg.model.num_layers  # resolves interpolations
    assert cfg.model.quantize_base == (w["method"] == "qlora") if w["method"] != "full" else True
    if w["method"] != "full":
        assert cfg.model.lora_rank == w["lora_rank"]
    run = (folder / "torchtune_config.yaml").read_text().split("# Run: ", 1)[1].split("\n")[0]
    recipe = run.split("--config")[0].split()[-1]
    assert recipe.startswith("full" if w["method"] == "full" else "lora")


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
    pytest.importorskip("torchtune", reason="torchtune not installed (the frameworks extra)")
    spec = importlib.util.find_spec("recipes")  # torchtune's configs ship beside it
    assert spec and spec.submodule_search_locations
    folder = Path(next(iter(spec.submodule_search_locations))) / "configs" / "llama3_1"
    lora = yaml.safe_load((folder / "8B_lora_single_device.yaml").read_text())
    full = yaml.safe_load((folder / "8B_full_single_device.yaml").read_text())
    want = {d["key"]: d["value"] for d in FRAMEWORKS["torchtune"]["defaults"]}
    assert lora["enable_activation_checkpointing"] is want["grad_checkpointing"]
    assert lora["model"]["lora_rank"] == want["lora_rank"]
    assert lora["optimizer"]["fused"] is True
    assert lora["model"]["lora_attn_modules"] == ["q_proj", "v_proj", "output_proj"]
    assert lora["model"]["apply_lora_to_mlp"] is True
    assert full["optimizer"]["_component_"] == "bitsandbytes.optim.PagedAdamW8bit"
    assert full["optimizer_in_bwd"] is True
