"""8-bit storage of the VideoPoet LM and one loader for every precision, device and placement.

The checkpoint is byte-for-byte the layout diffusers writes for a model loaded with
`BitsAndBytesConfig(load_in_8bit=True)`: for each Linear inside the blocks `weight` int8
(row-major), `SCB` fp32 (each output row's absmax) and `weight_format` uint8 0; everything else
fp16 (embeddings, norms, and the small factorised embed_in / embed_out, which are
llm_int8_skip_modules); config.json carries the `quantization_config`. So a GPU loads it with
diffusers' own `from_pretrained` (bitsandbytes LLM.int8).

A CPU, which diffusers' bitsandbytes path refuses, runs the same int8 bytes through
`Int8WeightOnlyLinear`: PyTorch's weight-only int8 matmul (`aten._weight_int8pack_mm`, the kernel
torchao's int8 weight-only mode uses) with each row scaled by SCB / 127 and bf16 activations.
Decoding reads one weight row per output per step, so it is bound by the bytes it reads; measured
on the 2-core AVX2 CPU, one decode step's Linears (batch 2): bf16 nn.Linear 708 us per block,
int8 weight-only 234 us, while bitsandbytes' CPU Linear8bitLt, which also quantizes activations,
made a whole clip 2.9x slower than bf16 (scripts/bench_pipeline.py). The tied output projection
reads an int8 copy of the token table made at load (`Int8OutputProjection`; the checkpoint keeps
the table fp16 for the embedding lookup): 0.6 ms of an 11.9 ms decode step at 300 tokens of
context (median of 6 x 100 steps, shipped weights, batch 2).

Quantization is bitsandbytes' row-wise absmax (`int8_vectorwise_quant` on the weight cast to
fp16, as `Int8Params` does when moved to a device), always run on the CPU so a checkpoint does not
depend on the machine that wrote it. Checked on an H200 (bitsandbytes 0.50.2, torch 2.11) against
what diffusers writes there from the same fp32 weights: same files, keys, dtypes, config; SCB,
fp16 tensors and weight_format identical; int8 weights identical except +-1 in 0.002-0.005% of
entries (9 of 442k in a qkv matrix), because the CUDA kernel scales by __fdividef(127, absmax), an
approximate reciprocal, where the CPU divides exactly; both round half to even.

Measured numerics (CPU, a random 4-layer d=128 model whose logits have std 1.8, 2 x 256 tokens;
max |logit difference| against the original fp32 model, top-1 agreement):
    int8 (LLM.int8, threshold 6)   0.043   98.6%
    fp32 dequantized               0.031   98.8%
    bf16 dequantized               0.068   98.8%
    original weights run in bf16   0.061   98.6%
so int8 costs about what bf16 arithmetic costs (tests/test_quantization.py holds the int8
weight-only figures of its test model).

    save_8bit(model, "weights/transformer")
    model = load_transformer("weights/transformer")                      # int8 on the CPU
    model = load_transformer(path, precision="bf16", device="cuda")      # dequantized
    model = load_transformer(path, device="cuda", device_map="auto")     # diffusers + accelerate
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from accelerate import dispatch_model, infer_auto_device_map, init_empty_weights
from accelerate.utils import get_balanced_memory
from diffusers import BitsAndBytesConfig
from safetensors.torch import load_file
from torch import nn

from videopoet.model.transformer import VideoPoetTransformer

Precision = Literal["int8", "bf16", "fp32"]

# Linears kept in fp16 next to the (never quantized) embeddings and norms: together 0.3 MB, and
# the factorised tied head runs through them, so int8 there would cost accuracy for no room.
SKIP_MODULES = ("embed_in", "embed_out")
# 15 MB of tensors per shard keeps each file, header included, under the 15 MiB limit.
MAX_SHARD_BYTES = 15 * 10**6
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"
INDEX_NAME = "diffusion_pytorch_model.safetensors.index.json"
# bitsandbytes dequantizes with this float32 constant (int8_vectorwise_dequant); using the same one
# makes a bf16/fp32 load reproduce the int8 model's weights exactly.
_INV_127 = 7.874015718698502e-3
_FLOAT_DTYPES = {"bf16": torch.bfloat16, "fp32": torch.float32}


class Int8WeightOnlyLinear(nn.Module):
    """y = x W^T with W kept as the checkpoint's int8 rows and per-row scales SCB / 127 (no bias:
    the LM's Linears have none). Activations are not quantized, so it is closer to the float model
    than LLM.int8. Inference only."""

    def __init__(self, weight: torch.Tensor, scb: torch.Tensor, dtype: torch.dtype):
        super().__init__()
        self.in_features, self.out_features = weight.shape[1], weight.shape[0]
        # The checkpoint's rows in fresh (aligned) memory, and for input sizes that are not a multiple
        # of 16 (the MLP's 984) the zero-padded copy the kernel reads instead (`_kernel_rows`).
        self.register_buffer("weight", weight.clone())
        self.register_buffer("padded_weight", _kernel_rows(weight) if self.in_features % 16 else None,
                             persistent=False)
        # SCB as stored, so saving a loaded model again gives the same bytes.
        self.register_buffer("SCB", scb.float())
        self.register_buffer("scales", (scb.float() * _INV_127).to(dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight if self.padded_weight is None else self.padded_weight
        y = _int8_matmul(x.reshape(-1, self.in_features), weight, self.scales)
        return y.reshape(*x.shape[:-1], self.out_features)


class Int8OutputProjection(nn.Module):
    """logits = hidden @ table[lo:hi]^T over an int8 copy of the tied token table (absmax scale per
    vocabulary row), for `VideoPoetTransformer.output_projection`. After the blocks this is a decode
    step's largest matmul: a video segment projects onto 16,384 rows. On the 2-core CPU, batch 2
    onto those rows: 1.34 ms in bf16, 0.34 ms int8. The checkpoint keeps the table fp16 (the
    embedding lookup still reads it), so this copy is made at load and never saved."""

    def __init__(self, table: torch.Tensor, dtype: torch.dtype):
        super().__init__()
        weight, scb = quantize_rowwise(table)
        self.register_buffer("weight", _kernel_rows(weight), persistent=False)
        self.register_buffer("scales", (scb.float() * _INV_127).to(dtype), persistent=False)

    def forward(self, hidden: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
        y = _int8_matmul(hidden.reshape(-1, hidden.shape[-1]), self.weight[lo:hi], self.scales[lo:hi])
        return y.reshape(*hidden.shape[:-1], hi - lo)


def _kernel_rows(weight: torch.Tensor) -> torch.Tensor:
    """A fresh copy of int8 (out, in) rows, zero-padded to a multiple of 16 columns, for `_int8_matmul`.
    On AVX-512 CPUs PyTorch's bf16 int8 kernel needs every row 16-byte aligned: with 984 inputs it
    returned values off by 1e8 for one row and segfaulted for 300, as it did for a matrix whose
    storage started 8 bytes off, as one read from a safetensors file can (torch 2.13, AMD EPYC with
    avx512_bf16). Its fp32 kernel has no such limit but took 13x as long (386 against 29 us for
    2 x 992 inputs)."""
    return F.pad(weight, (0, -weight.shape[1] % 16))


def _int8_matmul(flat: torch.Tensor, weight: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """(N, in) activations x int8 (out, in') rows scaled by `scales` -> (N, out) in the activations'
    dtype; rows wider than the activations (`_kernel_rows`) meet zero-padded activations."""
    scales = scales.to(flat.dtype)
    if weight.shape[1] > flat.shape[1]:
        flat = F.pad(flat, (0, weight.shape[1] - flat.shape[1]))
    if flat.device.type == "cpu":
        return torch.ops.aten._weight_int8pack_mm(flat.contiguous(), weight, scales)
    return F.linear(flat, weight.to(flat.dtype)) * scales


def int8_config() -> BitsAndBytesConfig:
    """The quantization config written into config.json and given to diffusers on a GPU (LLM.int8
    with bitsandbytes' default outlier threshold, 6.0)."""
    return BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=list(SKIP_MODULES))


def quantize_rowwise(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(out, in) float weight -> int8 (out, in) and fp32 SCB (out,), as `Int8Params` stores them."""
    import bitsandbytes.functional as bnbf

    quantized, scb, _ = bnbf.int8_vectorwise_quant(weight.detach().to("cpu", torch.float16).contiguous())
    return quantized, scb


def dequantize_rowwise(quantized: torch.Tensor, scb: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """int8 weight and SCB -> weight = int8 * SCB / 127 in `dtype`."""
    return (quantized.float() * (scb.float().view(-1, 1) * _INV_127)).to(dtype)


def _quantized_linear_names(model: nn.Module, skip: tuple[str, ...] | list[str] = SKIP_MODULES) -> list[str]:
    # The same rule diffusers' replace_with_bnb_linear applies: every Linear not named in `skip`.
    import bitsandbytes as bnb

    return [name for name, module in model.named_modules()
            if isinstance(module, (nn.Linear, bnb.nn.Linear8bitLt, Int8WeightOnlyLinear))
            and not any(key == name or name.startswith(key + ".") or name.split(".")[-1] == key for key in skip)]


def _int8_tensors(model: VideoPoetTransformer) -> dict[str, torch.Tensor]:
    """The model's weights in checkpoint layout (CPU tensors). An already-int8 model keeps its
    int8 bytes and scales, so saving a loaded int8 model again does not quantize twice."""
    import bitsandbytes as bnb

    quantized = set(_quantized_linear_names(model))
    tensors = {}
    for name, module in model.named_modules():
        if name in quantized:
            if isinstance(module, Int8WeightOnlyLinear):
                weight, scb = module.weight, module.SCB
            elif isinstance(module, bnb.nn.Linear8bitLt) and module.weight.dtype == torch.int8:
                weight = module.weight.data
                scb = module.weight.SCB if module.weight.SCB is not None else module.state.SCB
            else:
                weight, scb = quantize_rowwise(module.weight)
            tensors[f"{name}.weight"] = weight.detach().to("cpu").contiguous()
            tensors[f"{name}.SCB"] = scb.detach().to("cpu", torch.float32).contiguous()
            tensors[f"{name}.weight_format"] = torch.tensor(0, dtype=torch.uint8)
            if getattr(module, "bias", None) is not None:
                tensors[f"{name}.bias"] = module.bias.detach().to("cpu", torch.float16)
        else:
            for key, param in module.named_parameters(recurse=False):
                tensors[f"{name}.{key}" if name else key] = param.detach().to("cpu", torch.float16)
    return tensors


def _plain_config(config: dict) -> dict:
    return {key: value for key, value in config.items() if key != "quantization_config" and not key.startswith("_")}


def _skeleton(config: dict) -> VideoPoetTransformer:
    # Parameters on the meta device (no init cost), buffers real: they are derived from the config.
    with init_empty_weights():
        return VideoPoetTransformer.from_config(_plain_config(config))


def _build(config: dict, tensors: dict[str, torch.Tensor], linears: Literal["bitsandbytes", "int8", "float"],
           dtype: torch.dtype) -> VideoPoetTransformer:
    """A CPU model from checkpoint-layout tensors (int8 or float). The blocks' Linears become
    bitsandbytes Linear8bitLt holding the int8 bytes (what diffusers saves), Int8WeightOnlyLinear
    over the same bytes (CPU inference), or nn.Linear with dequantized weights; everything else,
    and the computation around the Linears, in `dtype`."""
    import bitsandbytes as bnb

    model = _skeleton(config)
    names = _quantized_linear_names(model)
    if linears == "bitsandbytes":
        from diffusers.quantizers.bitsandbytes.utils import replace_with_bnb_linear

        quantization = int8_config()
        model = replace_with_bnb_linear(model, modules_to_not_convert=list(quantization.llm_int8_skip_modules),
                                        quantization_config=quantization)
    rest = dict(tensors)
    for name in names:
        weight = rest.pop(f"{name}.weight")
        scb = rest.pop(f"{name}.SCB", None)
        rest.pop(f"{name}.weight_format", None)
        if linears != "float" and scb is None:
            weight, scb = quantize_rowwise(weight)
        if linears == "bitsandbytes":
            # What diffusers' create_quantized_param does with a serialized int8 weight.
            param = bnb.nn.Int8Params(weight, requires_grad=False, has_fp16_weights=False).to("cpu")
            param.SCB = scb.float()
            model.get_submodule(name)._parameters["weight"] = param
        elif linears == "int8":
            parent, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent), child, Int8WeightOnlyLinear(weight, scb, dtype))
        else:
            value = weight.to(dtype) if scb is None else dequantize_rowwise(weight, scb, dtype)
            model.get_submodule(name)._parameters["weight"] = nn.Parameter(value, requires_grad=False)
    missing, unexpected = model.load_state_dict({k: v.to(dtype) for k, v in rest.items()}, strict=False, assign=True)
    missing = [key for key in missing if key.rsplit(".", 1)[0] not in names]
    if missing or unexpected:
        raise ValueError(f"checkpoint does not match the config: missing {missing}, unexpected {unexpected}")
    if linears == "bitsandbytes":
        model.register_to_config(quantization_config=int8_config())
        model.is_loaded_in_8bit = True
    return model.eval().requires_grad_(False)


def to_int8(model: VideoPoetTransformer) -> VideoPoetTransformer:
    """A CPU int8 copy of `model` (any dtype or device) as diffusers saves one: blocks' Linears as
    bitsandbytes Linear8bitLt, the rest fp16."""
    return _build(dict(model.config), _int8_tensors(model), "bitsandbytes", torch.float16)


def save_8bit(model: VideoPoetTransformer, out_dir: str | os.PathLike, max_shard_size: int = MAX_SHARD_BYTES) -> None:
    """Write `model` as a serialized bitsandbytes int8 checkpoint (config.json with its
    quantization_config, safetensors shards of at most `max_shard_size` bytes of tensors).
    Works from any device; quantization runs on the CPU."""
    to_int8(model).save_pretrained(out_dir, safe_serialization=True, max_shard_size=max_shard_size)


def read_checkpoint(path: str | os.PathLike) -> tuple[dict, dict[str, torch.Tensor]]:
    """config.json and every tensor of a (sharded or single-file) safetensors checkpoint, on the CPU."""
    path = Path(path)
    config = json.loads((path / CONFIG_NAME).read_text())
    if (path / INDEX_NAME).exists():
        files = sorted(set(json.loads((path / INDEX_NAME).read_text())["weight_map"].values()))
    else:
        files = [WEIGHTS_NAME]
    tensors = {}
    for name in files:
        tensors.update(load_file(path / name))
    return config, tensors


def is_int8_checkpoint(path: str | os.PathLike) -> bool:
    config = json.loads((Path(path) / CONFIG_NAME).read_text())
    return bool((config.get("quantization_config") or {}).get("load_in_8bit"))


def _resolve_device_map(model: nn.Module, device_map: str | dict, max_memory: dict | None,
                        dtype: torch.dtype) -> dict:
    # diffusers' own rule for the string forms (auto / balanced / balanced_low_0 / sequential).
    if isinstance(device_map, dict):
        return device_map
    no_split = list(model._no_split_modules)
    if device_map != "sequential":
        max_memory = get_balanced_memory(model, max_memory=max_memory, dtype=dtype,
                                         no_split_module_classes=no_split, low_zero=device_map == "balanced_low_0")
    device_map = infer_auto_device_map(model, max_memory=max_memory, no_split_module_classes=no_split, dtype=dtype)
    # The root's own buffers (position-table offsets) are no module to place: dispatch_model keeps
    # them on the main device, next to the embeddings that use them.
    root_buffers = {name for name, _ in model.named_buffers(recurse=False)}
    return {name: device for name, device in device_map.items() if name not in root_buffers}


def load_transformer(
    path: str | os.PathLike,
    precision: Precision = "int8",
    device: str | torch.device = "cpu",
    device_map: str | dict | None = None,
    max_memory: dict | None = None,
    offload_folder: str | os.PathLike | None = None,
) -> VideoPoetTransformer:
    """Load the LM from `path` (an int8 checkpoint from `save_8bit`, or a float one from
    `save_pretrained`) for inference.

    Args:
        precision: "int8" keeps the int8 weights: Int8WeightOnlyLinear on the CPU (bf16
            activations), bitsandbytes LLM.int8 through diffusers on CUDA; "bf16" / "fp32"
            dequantize them (weight = int8 * SCB / 127).
        device: "cpu" or "cuda[:i]" when no device_map is given.
        device_map: accelerate placement — "auto" / "balanced" / "sequential" or an explicit
            {module name: device} dict ("blocks.3": 1, ...; "disk" offloads, CPU-side only for
            float weights). Blocks are never split (`_no_split_modules`); each block's KV cache is
            allocated on that block's device.
        max_memory: per-device budget for the string forms, e.g. {0: "10MiB", 1: "1GiB", "cpu": "2GiB"}.
        offload_folder: where "disk" modules are kept (required when the map has any).
    """
    if precision not in ("int8", "bf16", "fp32"):
        raise ValueError(f"precision must be 'int8', 'bf16' or 'fp32', got {precision!r}")
    device = torch.device(device)
    if precision == "int8" and (device.type == "cuda" or _map_uses_cuda(device_map)):
        return _load_int8_diffusers(path, device, device_map, max_memory)

    config, tensors = read_checkpoint(path)
    # The int8 kernel measured 13x faster with bf16 activations than with fp32 ones.
    dtype = _FLOAT_DTYPES.get(precision, torch.bfloat16)
    model = _build(config, tensors, "int8" if precision == "int8" else "float", dtype)
    if device_map is None:
        if precision == "int8":
            model.output_projection = Int8OutputProjection(model.token_embedding.weight, dtype)
        return model.to(device)
    device_map = _resolve_device_map(model, device_map, max_memory, dtype)
    model = dispatch_model(model, device_map, offload_dir=offload_folder)
    model.hf_device_map = device_map
    return model


def _map_uses_cuda(device_map: str | dict | None) -> bool:
    if device_map is None:
        return False
    if isinstance(device_map, str):
        return torch.cuda.is_available()
    return any(isinstance(d, int) or torch.device(d).type == "cuda" for d in device_map.values() if d != "disk")


def _load_int8_diffusers(path, device: torch.device, device_map, max_memory) -> VideoPoetTransformer:
    # A float checkpoint is quantized on load; a serialized int8 one already carries its config.
    quantization = None if is_int8_checkpoint(path) else int8_config()
    return VideoPoetTransformer.from_pretrained(
        path, quantization_config=quantization, torch_dtype=torch.float16,
        device_map=device_map if device_map is not None else str(device), max_memory=max_memory,
    ).eval()


def block_device_map(n_layers: int, devices: list) -> dict:
    """An explicit device_map that spreads the blocks evenly over `devices` in order (whole blocks,
    earliest blocks first) and keeps the embeddings, final norm and head on devices[0]."""
    top = ["token_embedding", "embed_in", "embed_out", "modality_embedding", "role_embedding",
           "position_embedding", "norm"]
    device_map = {name: devices[0] for name in top}
    for index in range(n_layers):
        device_map[f"blocks.{index}"] = devices[index * len(devices) // n_layers]
    return device_map
