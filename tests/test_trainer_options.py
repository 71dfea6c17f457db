"""Optional trainer features on the CPU: TensorBoard event files and torch.compile."""

import pytest

from redraft.trainer import train
from test_trainer_distributed import make_config, metrics


def test_tensorboard_events_hold_the_logged_scalars(tmp_path, tiny_llama_dir, dialogue_dirs):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    assert train(str(make_config(tmp_path, tiny_llama_dir, dialogue_dirs, "tb", max_steps=2, tensorboard=True)),
                 [], 1) == 0
    logdir = tmp_path / "tb" / "tensorboard"
    assert list(logdir.glob("events.out.tfevents.*"))
    events = EventAccumulator(str(logdir))
    events.Reload()
    logged = metrics(tmp_path / "tb")
    assert [(e.step, e.value) for e in events.Scalars("loss")] == [
        (m["step"], pytest.approx(m["loss"], rel=1e-6)) for m in logged]
    assert [e.value for e in events.Scalars("trained_tokens")] == [m["trained_tokens"] for m in logged]
    assert {"lr", "grad_norm", "tokens_per_s", "source_loss/zh-en", "source_loss/de-en"} <= set(
        events.Tags()["scalars"])


@pytest.mark.slow
def test_compile_on_cpu_gives_the_eager_losses(tmp_path, tiny_llama_dir, dialogue_dirs, monkeypatch):
    cache = tmp_path / "inductor"
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(cache))
    fields = dict(max_steps=3, lr_schedule="constant")
    assert train(str(make_config(tmp_path, tiny_llama_dir, dialogue_dirs, "eager", **fields)), [], 1) == 0
    assert not list(cache.rglob("*.py"))
    assert train(str(make_config(tmp_path, tiny_llama_dir, dialogue_dirs, "compiled", compile=True, **fields)),
                 [], 1) == 0
    assert list(cache.rglob("*.py"))  # inductor generated kernels: the layers really were compiled
    eager, compiled = metrics(tmp_path / "eager"), metrics(tmp_path / "compiled")
    assert [m["trained_tokens"] for m in compiled] == [m["trained_tokens"] for m in eager]
    # fused kernels sum in another order: float32 rounding apart, not more
    assert [m["loss"] for m in compiled] == pytest.approx([m["loss"] for m in eager], rel=1e-4)
    assert compiled[-1]["loss"] < compiled[0]["loss"]
