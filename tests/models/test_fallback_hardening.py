"""The transformers fallback (a model_type gpuwise has no rule for) under hostile configs.

Issue 11: ``--trust-remote-code`` must run only the code of the folder the user named (never
the folder a config's ``_name_or_path`` or ``auto_map`` points at), count it exactly, and refuse
rather than count another class; a wrong type in any field is one line, exit 2; and absurd
sizes are refused before anything is built, as the rule path refuses them.
"""

from __future__ import annotations

import json
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuwise.errors import GpuwiseError
from gpuwise.models import hf_fallback
from gpuwise.models.build import spec_from_config
from gpuwise.models.config_reader import MAX_DIM
from gpuwise.models.resolve import resolve

from ..checks import json_values

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

#: A real config (Llama 3.2 1B) under model_types gpuwise has no rule for and transformers knows.
LLAMA = resolve("llama-3.2-1b").config
UNKNOWN_TYPES = ("olmo2", "starcoder2")

CONFIGURATION = """
from transformers import PreTrainedConfig


class TinyConfig(PreTrainedConfig):
    model_type = "gpuwise_tiny"

    def __init__(self, vocab_size=32, hidden_size=8, num_hidden_layers=2, **kwargs):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        super().__init__(**kwargs)
"""
MODELING = """
import torch
from transformers import PreTrainedModel

from .configuration_tiny import TinyConfig


class TinyForCausalLM(PreTrainedModel):
    config_class = TinyConfig

    def __init__(self, config):
        super().__init__(config)
        h = config.hidden_size
        self.embed = torch.nn.Embedding(config.vocab_size, h)
        self.layers = torch.nn.ModuleList(
            torch.nn.Linear(h, h) for _ in range(config.num_hidden_layers)
        )
        self.norm = torch.nn.LayerNorm(h)
        self.lm_head = torch.nn.Linear(h, config.vocab_size, bias=False)
        self.post_init()


class TinyModel(TinyForCausalLM):
    pass
"""
AUTO_MAP = {
    "AutoConfig": "configuration_tiny.TinyConfig",
    "AutoModelForCausalLM": "modeling_tiny.TinyForCausalLM",
}


def tiny_count(vocab: int, hidden: int, layers: int) -> int:
    """Parameters of TinyForCausalLM: embedding, layers of Linear(h, h), a LayerNorm, the head."""
    return vocab * hidden + layers * (hidden * hidden + hidden) + 2 * hidden + hidden * vocab


def write_model(folder: Path, config: dict, *, code: bool = True, marker: Path | None = None):
    """A model folder: config.json and, with ``code``, the tiny model's code. With ``marker``
    the code writes that file when imported (it stands for code that must never run)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    if code:
        plant = f"open({str(marker)!r}, 'w').write('ran')\n" if marker else ""
        (folder / "configuration_tiny.py").write_text(plant + textwrap.dedent(CONFIGURATION))
        (folder / "modeling_tiny.py").write_text(plant + textwrap.dedent(MODELING))
    return folder


def tiny_config(vocab: int = 100, hidden: int = 16, layers: int = 3, **extra) -> dict:
    return {
        "model_type": "gpuwise_tiny",
        "vocab_size": vocab,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "tie_word_embeddings": False,
        "auto_map": dict(AUTO_MAP),
        **extra,
    }


@pytest.fixture(scope="module", autouse=True)
def _modules_cache(tmp_path_factory):
    """transformers copies a model's code into its modules cache before importing it: here a
    folder of this test run, not the user's ~/.cache (one for the module, since the package it
    makes stays imported)."""
    from transformers import dynamic_module_utils

    with pytest.MonkeyPatch.context() as mp:
        cache = tmp_path_factory.mktemp("hf_modules")
        mp.setattr(dynamic_module_utils, "HF_MODULES_CACHE", str(cache))
        mp.setattr(sys, "path", list(sys.path))
        # Warm: transformers' first imports take seconds; the timed refusals below do not.
        _meta_count(transformers.AutoModelForCausalLM, {**LLAMA, "model_type": "olmo2"})
        yield


def one_line_error(r, *says: str) -> None:
    assert r.code == 2, (r.code, r.err)
    assert r.err.count("\n") == 1 and "Traceback" not in r.err, r.err
    for word in says:
        assert word in r.err, (word, r.err)


# -- 1. --trust-remote-code: the folder named, its code only, counted exactly ----------------


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    vocab=st.integers(1, 5000),
    hidden=st.integers(1, 64),
    layers=st.integers(1, 12),
    by=st.sampled_from(["folder", "config.json"]),
)
def test_shipped_code_is_counted_exactly_with_the_flag(cli, tmp_path, vocab, hidden, layers, by):
    folder = write_model(tmp_path / "tiny-model", tiny_config(vocab, hidden, layers))
    name = str(folder if by == "folder" else folder / "config.json")
    r = cli("model", name, "--trust-remote-code", "--json")
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["params"] == tiny_count(vocab, hidden, layers)
    assert doc["kind"] == "decoder" and doc["counted_by"].startswith("transformers")
    assert "Traceback" not in r.err and r.err.count("\n") == 1  # the slow-path notice


def test_shipped_code_in_the_hugging_face_cache_runs_from_its_snapshot(cli, tmp_path, monkeypatch):
    hub = tmp_path / "hub"
    snapshot = hub / "models--acme--tiny" / "snapshots" / "0123abcd"
    write_model(snapshot, tiny_config(200, 8, 2))
    (hub / "models--acme--tiny" / "refs").mkdir()
    (hub / "models--acme--tiny" / "refs" / "main").write_text("0123abcd")
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    r = cli("model", "acme/tiny", "--trust-remote-code", "--json")
    assert r.code == 0, r.err
    assert r.json()["params"] == tiny_count(200, 8, 2)


@pytest.mark.parametrize("command", ["model", "plan", "recommend"])
def test_shipped_code_is_refused_without_the_flag_and_never_runs(cli, tmp_path, command):
    marker = tmp_path / "ran"
    folder = write_model(tmp_path / "tiny-model", tiny_config(), marker=marker)
    one_line_error(cli(command, str(folder)), "--trust-remote-code")
    assert not marker.exists()


# The config names another folder in _name_or_path. Its code writes a marker when imported.
# transformers' own model_type "olmo2" with a shipped causal-LM class is what let the old
# fallback reach transformers' loader, which looks code up under _name_or_path.
NAME_OR_PATH_CASES = {
    "own config class": lambda: tiny_config(),
    "transformers config class": lambda: {
        **LLAMA,
        "model_type": "olmo2",
        "num_hidden_layers": 2,
        "tie_word_embeddings": False,
        "auto_map": {"AutoModelForCausalLM": "modeling_tiny.TinyForCausalLM"},
    },
}


@pytest.mark.parametrize("case", sorted(NAME_OR_PATH_CASES))
def test_name_or_path_never_chooses_the_code(cli, tmp_path, case):
    marker = tmp_path / "ran"
    elsewhere = write_model(tmp_path / "elsewhere", tiny_config(), marker=marker)
    config = {**NAME_OR_PATH_CASES[case](), "_name_or_path": str(elsewhere)}
    folder = write_model(tmp_path / "tiny-model", config)
    r = cli("model", str(folder), "--trust-remote-code", "--json")
    assert r.code == 0, r.err
    assert not marker.exists(), "code of the folder _name_or_path names ran"
    assert r.json()["params"] == tiny_count(
        config["vocab_size"], config["hidden_size"], config["num_hidden_layers"]
    )


def test_code_missing_from_the_folder_is_refused_not_taken_from_name_or_path(cli, tmp_path):
    marker = tmp_path / "ran"
    elsewhere = write_model(tmp_path / "elsewhere", tiny_config(), marker=marker)
    config = {**NAME_OR_PATH_CASES["transformers config class"](), "_name_or_path": str(elsewhere)}
    folder = write_model(tmp_path / "tiny-model", config, code=False)
    one_line_error(cli("model", str(folder), "--trust-remote-code"), "modeling_tiny.py")
    assert not marker.exists()


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    form=st.sampled_from(
        [
            "{elsewhere}--modeling_tiny.TinyForCausalLM",  # another repository / folder
            "acme/other--modeling_tiny.TinyForCausalLM",
            "../elsewhere/modeling_tiny.TinyForCausalLM",
            "modeling_tiny.TinyForCausalLM.extra",
            "modeling_tiny",
            "",
        ]
    ),
    key=st.sampled_from(["AutoModelForCausalLM", "AutoConfig"]),
    model_type=st.sampled_from(["olmo2", "gpuwise_tiny"]),
)
def test_auto_map_pointing_outside_the_folder_is_refused(cli, tmp_path, form, key, model_type):
    marker = tmp_path / "ran"
    marker.unlink(missing_ok=True)
    elsewhere = write_model(tmp_path / "elsewhere", tiny_config(), marker=marker)
    config = {**LLAMA, **tiny_config(), "model_type": model_type}
    config["auto_map"][key] = form.format(elsewhere=elsewhere)
    folder = write_model(tmp_path / "tiny-model", config)
    one_line_error(cli("model", str(folder), "--trust-remote-code"), key)
    assert not marker.exists()


def test_shipped_code_without_a_causal_lm_class_is_refused(cli, tmp_path):
    """The old fallback counted AutoModel (another class) and exited 0."""
    config = tiny_config()
    config["auto_map"] = {**AUTO_MAP, "AutoModel": "modeling_tiny.TinyModel"}
    del config["auto_map"]["AutoModelForCausalLM"]
    folder = write_model(tmp_path / "tiny-model", config)
    one_line_error(cli("model", str(folder), "--trust-remote-code"), "causal-LM")


# -- the class is the reference step's: causal LM, or AutoModel + masked LM for encoders -----


def _meta_count(auto, config: dict) -> int:
    kwargs = {k: v for k, v in config.items() if k != "model_type"}
    cfg = transformers.AutoConfig.for_model(config["model_type"], **kwargs)
    with torch.device("meta"):
        return sum(p.numel() for p in auto.from_config(cfg).parameters())


def test_an_encoder_counts_its_base_model_and_trains_its_masked_lm(cli, tmp_path):
    config = {**resolve("bert-base-uncased").config, "model_type": "roberta", "pad_token_id": 1}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    r = cli("model", str(path), "--json")
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["kind"] == "encoder"
    assert doc["params"] == _meta_count(transformers.AutoModel, config)
    assert doc["trained_params"] == _meta_count(transformers.AutoModelForMaskedLM, config)
    assert doc["trained_params_by_part"]["mlm_head"] > 0


@pytest.mark.parametrize("model_type", UNKNOWN_TYPES)
def test_a_decoder_counts_its_causal_lm(model_type):
    config = {**LLAMA, "model_type": model_type}
    spec = spec_from_config(config, name="x", source="t", where="config.json")
    assert spec.kind == "decoder"
    assert spec.params == _meta_count(transformers.AutoModelForCausalLM, config)


@pytest.mark.parametrize("model_type", ["t5", "bart", "vit", "clip"])
def test_no_decoder_or_encoder_class_is_refused_not_counted_as_another(cli, tmp_path, model_type):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model_type": model_type}))
    one_line_error(cli("model", str(path)), model_type)


# -- 2. every wrong value is one line, exit 2 -------------------------------------------------

#: Fields a config of these types may hold that the Llama config lacks.
EXTRA_FIELDS = (
    "num_experts",
    "head_dim",
    "layer_types",
    "sliding_window",
    "n_inner",
    "_name_or_path",
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(model_type=st.sampled_from(UNKNOWN_TYPES), data=st.data(), value=json_values)
def test_any_mutated_field_is_one_line_or_the_exact_count(cli, tmp_path, model_type, data, value):
    config = {**LLAMA, "model_type": model_type}
    field = data.draw(st.sampled_from(sorted(set(config) - {"model_type"}) + list(EXTRA_FIELDS)))
    config[field] = value
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    r = cli("model", str(path), "--json")
    assert r.code in (0, 2) and "Traceback" not in r.err, r.err
    if r.code == 2:
        one_line_error(r, str(path))
        return
    # Accepted: exactly what transformers builds (the kernel and dtype never change a count).
    plain = {k: v for k, v in config.items() if k not in ("torch_dtype", "dtype")}
    assert r.json()["params"] == _meta_count(transformers.AutoModelForCausalLM, plain)


@pytest.mark.parametrize("model_type", UNKNOWN_TYPES)
@pytest.mark.parametrize(
    "field,value",
    [("hidden_size", "big"), ("num_hidden_layers", "3"), ("vocab_size", [1, "x"])],
)
def test_a_string_where_a_number_belongs_names_the_field(cli, tmp_path, model_type, field, value):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**LLAMA, "model_type": model_type, field: value}))
    one_line_error(cli("model", str(path)), field, "integer")


# -- 3. absurd sizes: refused before anything is built -----------------------------------------


def _refused_fast(config: dict, *says: str) -> None:
    start = time.perf_counter()
    with pytest.raises(GpuwiseError) as e:
        spec_from_config(config, name="x", source="t", where="config.json")
    assert time.perf_counter() - start < 0.5, "refused only after building"
    message = str(e.value)
    assert "\n" not in message
    for word in says:
        assert word in message, (word, message)


def test_200000_layers_are_refused_at_once():
    """Issue 11: 200,000 layers took 120 s and 3.8 GB on the meta device."""
    config = {**LLAMA, "model_type": "olmo2", "num_hidden_layers": 200_000}
    _refused_fast(config, "num_hidden_layers", str(hf_fallback.MAX_LAYERS))


SIZE_FIELDS = {  # field -> the model_type whose config has it, and the largest accepted value
    "num_hidden_layers": ("olmo2", hf_fallback.MAX_LAYERS),
    "hidden_size": ("olmo2", MAX_DIM),
    "vocab_size": ("starcoder2", MAX_DIM),
    "num_attention_heads": ("olmo2", MAX_DIM),
    "num_key_value_heads": ("starcoder2", MAX_DIM),
    "intermediate_size": ("olmo2", MAX_DIM),
    "max_position_embeddings": ("olmo2", MAX_DIM),
    "num_experts": ("olmoe", MAX_DIM),
}


@settings(max_examples=60, deadline=None)
@given(
    field=st.sampled_from(sorted(SIZE_FIELDS)),
    excess=st.integers(1, 10**30),
    below=st.booleans(),
    nested=st.booleans(),
)
def test_sizes_past_the_rule_path_bounds_are_refused_at_once(field, excess, below, nested):
    model_type, largest = SIZE_FIELDS[field]
    value = -excess if below else largest + excess
    config = {**LLAMA, "model_type": model_type}
    if nested:  # a composite model's text part is checked as well
        config["text_config"] = {field: value}
    else:
        config[field] = value
    _refused_fast(config, field)


def test_parameters_implied_past_10t_are_refused_before_building():
    # Each size within the per-field bound; together 2^22 x 2^22 embedding parameters.
    config = {**LLAMA, "model_type": "olmo2", "hidden_size": 1 << 22, "vocab_size": 1 << 22}
    _refused_fast(config, "10T")


def test_parameters_counted_past_10t_are_refused():
    # 64 layers x 65,536 fused experts of 3 x 4096 x 4096: 2.1e14 parameters.
    config = {
        **LLAMA,
        "model_type": "olmoe",
        "num_experts": 1 << 16,
        "hidden_size": 4096,
        "intermediate_size": 4096,
        "num_hidden_layers": 64,
    }
    with pytest.raises(GpuwiseError, match="10T"):
        spec_from_config(config, name="x", source="t", where="config.json")


def test_real_configs_pass_the_bounds():
    """The bounds refuse nothing transformers ships: every config class's defaults pass."""
    checked = 0
    for model_type, cls in transformers.CONFIG_MAPPING.items():
        try:
            values = cls().to_dict()
        except Exception:  # a few classes need arguments: nothing to check
            continue
        hf_fallback.check_sizes(values, model_type, model_type)
        checked += 1
    assert checked > 150
