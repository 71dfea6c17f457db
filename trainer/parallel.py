"""Process group, device mesh and FSDP2 sharding.

`fully_shard` goes on each decoder layer, then on the root (embeddings, final norm, head, tied weights). On a GPU
parameters are gathered in bf16 and gradients reduced in fp32; on the CPU (gloo) everything stays fp32.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.distributed.device_mesh import DeviceMesh, init_device_mesh
from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard


@dataclass
class Dist:
    rank: int
    local_rank: int
    world_size: int
    device: torch.device
    mesh: DeviceMesh

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed() -> Dist:
    """Join the group torchrun set up (or a group of one when run directly): NCCL on GPUs, gloo on the CPU."""
    os.environ.setdefault("RANK", "0")
    os.environ.setdefault("LOCAL_RANK", "0")
    os.environ.setdefault("WORLD_SIZE", "1")
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29500")
    local_rank = int(os.environ["LOCAL_RANK"])
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        device, backend, mesh_type = torch.device("cuda", local_rank), "nccl", "cuda"
    else:
        device, backend, mesh_type = torch.device("cpu"), "gloo", "cpu"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, device_id=device if backend == "nccl" else None)
    world = dist.get_world_size()
    mesh = init_device_mesh(mesh_type, (world,), mesh_dim_names=("dp",))
    return Dist(dist.get_rank(), local_rank, world, device, mesh)


def decoder_layers(model) -> list[torch.nn.Module]:
    """The repeated transformer blocks of a HF causal LM (LLaMA family: model.model.layers)."""
    base = getattr(model, model.base_model_prefix, model)
    for name in ("layers", "h", "blocks"):
        layers = getattr(base, name, None)
        if isinstance(layers, torch.nn.ModuleList):
            return list(layers)
    raise ValueError(f"cannot find the decoder layers of {type(model).__name__}")


def compute_dtype(setting: str, device: torch.device) -> torch.dtype:
    if setting == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return {"bfloat16": torch.bfloat16, "float32": torch.float32}[setting]


def shard_model(model: torch.nn.Module, mesh: DeviceMesh, param_dtype: torch.dtype, compile: bool = False):
    """FSDP2 over `mesh`; parameters stay fp32 (the optimizer's master copy) and are cast to `param_dtype` for
    compute, with gradients reduced in fp32."""
    mp = MixedPrecisionPolicy(param_dtype=param_dtype, reduce_dtype=torch.float32)
    layers = decoder_layers(model)
    for i, layer in enumerate(layers):
        if compile:
            layer.compile()
        # the last layer's parameters are needed again at once by the root's backward; keep them gathered
        fully_shard(layer, mesh=mesh, mp_policy=mp, reshard_after_forward=i < len(layers) - 1)
    fully_shard(model, mesh=mesh, mp_policy=mp)
    return model
