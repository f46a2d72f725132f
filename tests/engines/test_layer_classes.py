"""The layer class gpuwise names for FSDP's wrapping is the one transformers builds."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import torch
import transformers
from accelerate.utils import FullyShardedDataParallelPlugin
from accelerate.utils.fsdp_utils import fsdp2_prepare_auto_wrap_policy
from transformers.models.auto.modeling_auto import (
    MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
    MODEL_FOR_MASKED_LM_MAPPING_NAMES,
)

from gpuwise.engines.layers import layer_classes
from gpuwise.models import load_model
from gpuwise.parallel import Parallel
from gpuwise.workload import Workload

from .conftest import CONFIGS
from .launcher import clean_env, emit, launcher_env


@pytest.mark.parametrize(("model_type", "cls"), sorted(layer_classes().items()))
def test_class_exists_and_is_the_unit_transformers_keeps_whole(model_type, cls):
    """The class is in the model's modeling module, and is its _no_split_modules where the
    model declares one (BERT declares none: the built-model test below covers it)."""
    names = MODEL_FOR_CAUSAL_LM_MAPPING_NAMES | MODEL_FOR_MASKED_LM_MAPPING_NAMES
    model_cls = getattr(transformers, names[model_type])
    module = importlib.import_module(model_cls.__module__)
    assert isinstance(getattr(module, cls, None), type), f"{cls} not in {module.__name__}"
    if model_cls._no_split_modules:
        assert cls in model_cls._no_split_modules


TINY = sorted(p.stem.removeprefix("tiny-") for p in Path(CONFIGS).glob("tiny-*.json"))


@pytest.mark.parametrize("name", TINY)
def test_emitted_fsdp_config_wraps_every_layer(tmp_path, name):
    """accelerate's FSDP2 wrap policy, built from the emitted launch, picks each layer."""
    config = CONFIGS / f"tiny-{name}.json"
    spec = load_model(str(config))
    folder = emit(tmp_path, spec, Workload(seq=16), Parallel("fsdp", 2), model_ref=str(config))
    _, env = launcher_env(folder)
    with clean_env(**env):
        plugin = FullyShardedDataParallelPlugin()
    hf_config = transformers.AutoConfig.from_pretrained(str(config))
    auto = (
        transformers.AutoModelForMaskedLM
        if spec.kind == "encoder"
        else (transformers.AutoModelForCausalLM)
    )
    with torch.device("meta"):
        model = auto.from_config(hf_config)
    policy = fsdp2_prepare_auto_wrap_policy(plugin, model)
    wrapped = [m for m in model.modules() if policy(m)]
    assert len(wrapped) == spec.num_layers
