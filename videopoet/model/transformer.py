"""The VideoPoet language model: a decoder-only prefix LM over one unified token vocabulary.

Tokens [0, prefix_len) are the conditioning and attend to each other bidirectionally; tokens from
prefix_len on are outputs and attend causally (to the whole prefix and earlier outputs). The loss
covers outputs only.

Positions are not indices into the sequence but coordinates inside each modality — text index,
video (t, y, x) latent cell, audio (frame, level) — each looked up in its own learned table, so a
video token means the same cell whatever precedes it in the sequence. A role embedding (conditioning
or output) tells apart two tokens of one modality at one cell: stylization's structure video and
the clip it drives, inpainting's masked input and its fill. Without it the two differ to attention
only by their codes, which come from the same vocabulary.

The vocabulary embedding is shared with the output head and factorised (vocab -> embed_dim ->
d_model): embeddings stay fp16 when the rest is stored int8, and a full-width 22.6k x d_model table
alone would take most of the 24 MiB weight budget.

Decoding follows gpt-fast's static KV cache, allocated once and written in place, but each step
attends only over the slots filled so far: attending over the whole cache with a mask made a
clip's decode time grow with the cache size, and on a 2-core CPU the KV reads were as large as the
weights (measured on the CPU, bf16 model: attention was 55% of a step; with this and the fp32 CPU
cache of `setup_cache`, 28%).

    model = VideoPoetTransformer()
    logits = model(tokens, positions, modality, prefix_len, valid)     # (B, L, vocab)
    loss = model(tokens, positions, modality, prefix_len, valid, return_loss=True)  # training
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn
from torch.nn.attention.bias import causal_lower_right

SPECIAL, TEXT, VIDEO, AUDIO = 0, 1, 2, 3
NUM_MODALITIES = 4


def prefix_lm_mask(prefix_len: torch.Tensor, length: int, valid: torch.Tensor | None = None) -> torch.Tensor:
    """Boolean attention mask (B, 1, L, L): query i sees key j iff valid[j] and (j < prefix_len or
    j <= i) — bidirectional inside the prefix, causal after it, padding never visible."""
    device = prefix_len.device
    query = torch.arange(length, device=device).view(1, length, 1)
    key = torch.arange(length, device=device).view(1, 1, length)
    visible = (key < prefix_len.view(-1, 1, 1)) | (key <= query)
    if valid is not None:
        visible = visible & valid[:, None, :]
    return visible[:, None]


def prefix_lm_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, prefix: int) -> torch.Tensor:
    """Prefix-LM attention for a batch whose rows share one prefix length and have no padding, as
    two mask-free SDPA calls: the prefix attends within itself, the outputs attend causally with the
    diagonal at the lower right (output a sees keys [0, prefix + a]). Both run as flash attention on
    CUDA; an explicit (B, 1, L, L) mask forces the slower memory-efficient kernel to read the mask."""
    length = q.shape[2]
    parts = []
    if prefix > 0:
        parts.append(F.scaled_dot_product_attention(q[:, :, :prefix], k[:, :, :prefix], v[:, :, :prefix]))
    if prefix < length:
        parts.append(F.scaled_dot_product_attention(q[:, :, prefix:], k, v,
                                                    attn_mask=causal_lower_right(length - prefix, length)))
    return torch.cat(parts, dim=2) if len(parts) > 1 else parts[0]


def lm_loss(logits: torch.Tensor, tokens: torch.Tensor, prefix_len: torch.Tensor,
            valid: torch.Tensor | None = None) -> torch.Tensor:
    """Next-token cross-entropy averaged over output tokens: targets at positions >= prefix_len
    (and valid); the conditioning is never a target."""
    counted = _predicts_output(tokens, prefix_len, valid)
    losses = F.cross_entropy(logits[:, :-1].float().transpose(1, 2), tokens[:, 1:], reduction="none")
    return (losses * counted).sum() / counted.sum().clamp(min=1)


def _predicts_output(tokens: torch.Tensor, prefix_len: torch.Tensor, valid: torch.Tensor | None) -> torch.Tensor:
    """(B, L-1) bool: position i's next token (i + 1) is an output, so position i carries loss."""
    target_index = torch.arange(1, tokens.shape[1], device=tokens.device)
    counted = target_index[None, :] >= prefix_len[:, None]
    return counted & valid[:, 1:] if valid is not None else counted


class Attention(nn.Module):
    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.out = nn.Linear(d_model, d_model, bias=False)
        self.register_buffer("k_cache", None, persistent=False)
        self.register_buffer("v_cache", None, persistent=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | int, cache_position: torch.Tensor | None) -> torch.Tensor:
        """Without `cache_position`, attend within x: `mask` is a boolean (B, 1, L, L) mask, or an
        int, the prefix length every row shares (no padding). With it, write x's keys/values into the
        cache slots `cache_position` and attend over the first mask.shape[-1] slots (mask is then
        (B, 1, L, slots))."""
        b, length, d = x.shape
        q, k, v = self.qkv(x).view(b, length, 3, self.n_heads, d // self.n_heads).permute(2, 0, 3, 1, 4)
        if cache_position is not None:
            self.k_cache.index_copy_(2, cache_position, k.to(self.k_cache.dtype))
            self.v_cache.index_copy_(2, cache_position, v.to(self.v_cache.dtype))
            # Slots past the one just written are masked anyway; reading them is what made decoding
            # cost grow with the cache size instead of with the tokens so far.
            end = mask.shape[-1]
            k, v = self.k_cache[:, :, :end], self.v_cache[:, :, :end]
            q = q.to(k.dtype)
        if isinstance(mask, int):
            y = prefix_lm_attention(q, k, v, mask).to(x.dtype)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask).to(x.dtype)
        return self.out(y.transpose(1, 2).reshape(b, length, d))


class RMSNorm(nn.RMSNorm):
    """RMSNorm computed in fp32 whatever the model's dtype: steadier in bf16, and on CPUs without
    native bf16 the fp32 kernel measured 3x faster than the bf16 one."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x.float(), self.normalized_shape, self.weight.float(), self.eps).to(x.dtype)


class SwiGLU(nn.Module):
    def __init__(self, d_model: int, hidden: int):
        super().__init__()
        self.gate_up = nn.Linear(d_model, 2 * hidden, bias=False)
        self.down = nn.Linear(hidden, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.down(F.silu(gate) * up)


class Block(nn.Module):
    def __init__(self, d_model: int, n_heads: int, mlp_hidden: int, norm_eps: float):
        super().__init__()
        self.attention_norm = RMSNorm(d_model, eps=norm_eps)
        self.attention = Attention(d_model, n_heads)
        self.mlp_norm = RMSNorm(d_model, eps=norm_eps)
        self.mlp = SwiGLU(d_model, mlp_hidden)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | int, cache_position: torch.Tensor | None) -> torch.Tensor:
        x = x + self.attention(self.attention_norm(x), mask, cache_position)
        return x + self.mlp(self.mlp_norm(x))


def _execution_device(module: nn.Module, default: torch.device | str) -> torch.device:
    # accelerate's dispatch hook knows where an offloaded module runs (its weights sit on "meta");
    # a module placed whole on a device has no hook of its own and runs where its weights are.
    device = getattr(getattr(module, "_hf_hook", None), "execution_device", None)
    if device is None:
        device = next(module.parameters()).device
        if device.type == "meta":
            return torch.device(default)
    return torch.device(device)


class VideoPoetTransformer(ModelMixin, ConfigMixin):
    """Decoder-only pre-norm prefix LM (RMSNorm, SwiGLU, SDPA: boolean masks, or none when every row
    shares one prefix length and has no padding, as in training).

    Inputs, all (B, L[, 3]) int64 unless noted: `tokens` in [0, vocab_size); `positions`
    (B, L, 3): text (i, 0, 0), video (t, y, x), audio (frame, level, 0), special (0, 0, 0);
    `modality` 0 special, 1 text, 2 video, 3 audio; `prefix_len` (B,); `valid` bool (B, L), False
    on padding.
    """

    _no_split_modules: ClassVar[list[str]] = ["Block"]

    @register_to_config
    def __init__(
        self,
        vocab_size: int = 22568,
        max_len: int = 4608,
        d_model: int = 384,
        n_layers: int = 9,
        n_heads: int = 6,
        mlp_hidden: int = 984,  # 20.1M parameters whose int8 checkpoint fits 24 MiB (1024 gave 24.13 MiB)
        embed_dim: int = 192,
        text_positions: int = 128,
        video_t_positions: int = 16,
        video_y_positions: int = 28,
        video_x_positions: int = 16,
        audio_frame_positions: int = 106,
        audio_level_positions: int = 4,
        norm_eps: float = 1e-6,
    ):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, embed_dim)
        self.embed_in = nn.Linear(embed_dim, d_model, bias=False)
        self.embed_out = nn.Linear(d_model, embed_dim, bias=False)
        self.modality_embedding = nn.Embedding(NUM_MODALITIES, d_model)
        self.role_embedding = nn.Embedding(2, d_model)  # 0 conditioning (the prefix), 1 output

        # Every (modality, axis) pair gets its own slice of one table; axes a modality does not use
        # point at a final all-zero row, so one lookup per axis embeds any mix of modalities.
        axis_sizes = torch.zeros(NUM_MODALITIES, 3, dtype=torch.long)
        axis_sizes[TEXT, 0] = text_positions
        axis_sizes[VIDEO] = torch.tensor([video_t_positions, video_y_positions, video_x_positions])
        axis_sizes[AUDIO, :2] = torch.tensor([audio_frame_positions, audio_level_positions])
        axis_offsets = axis_sizes.flatten().cumsum(0).view(NUM_MODALITIES, 3) - axis_sizes
        unused_row = int(axis_sizes.sum())
        axis_offsets[axis_sizes == 0] = unused_row
        self.register_buffer("axis_sizes", axis_sizes, persistent=False)
        self.register_buffer("axis_offsets", axis_offsets, persistent=False)
        self.position_embedding = nn.Embedding(unused_row + 1, d_model, padding_idx=unused_row)

        self.blocks = nn.ModuleList(Block(d_model, n_heads, mlp_hidden, norm_eps) for _ in range(n_layers))
        self.norm = RMSNorm(d_model, eps=norm_eps)
        self.register_buffer("cache_valid", None, persistent=False)
        # The tied output projection, when a loader replaces it (the CPU int8 load reads an int8
        # copy of the table there); None projects onto token_embedding.weight itself.
        self.output_projection: nn.Module | None = None
        # Off only to compare against the explicit-mask path (tests, scripts/bench_train_lm.py).
        self.shared_prefix_attention = True
        self._init_weights()

    def _init_weights(self) -> None:
        # nanoGPT/GPT-2: N(0, 0.02), residual output projections scaled down by depth so the
        # residual stream's variance does not grow with the number of layers.
        for name, param in self.named_parameters():
            if param.dim() < 2:
                continue
            std = 0.02 / math.sqrt(2 * self.config.n_layers) if name.endswith(("attention.out.weight", "mlp.down.weight")) else 0.02
            nn.init.normal_(param, std=std)
        with torch.no_grad():
            self.position_embedding.weight[self.position_embedding.padding_idx].zero_()

    def _embed(self, tokens: torch.Tensor, positions: torch.Tensor, modality: torch.Tensor,
               output: torch.Tensor) -> torch.Tensor:
        offsets = self.axis_offsets[modality]
        used = self.axis_sizes[modality] > 0
        rows = torch.where(used, offsets + positions, offsets)
        return (self.embed_in(self.token_embedding(tokens)) + self.modality_embedding(modality)
                + self.role_embedding(output.long()) + self.position_embedding(rows).sum(dim=-2))

    @staticmethod
    def _is_output(prefix_len: torch.Tensor, length: int) -> torch.Tensor:
        return torch.arange(length, device=prefix_len.device)[None, :] >= prefix_len[:, None]

    def _check_inputs(self, tokens: torch.Tensor, positions: torch.Tensor, modality: torch.Tensor) -> None:
        # A coordinate beyond its table would silently read the next modality's rows.
        if tokens.shape[1] > self.config.max_len:
            raise ValueError(f"sequence of {tokens.shape[1]} tokens exceeds max_len {self.config.max_len}")
        if ((modality < 0) | (modality >= NUM_MODALITIES)).any():
            raise ValueError("modality must be in 0..3")
        limits = self.axis_sizes[modality]
        if ((positions < 0) | ((positions >= limits) & (limits > 0))).any():
            raise ValueError(f"positions out of range for their modality (limits per modality/axis: {self.axis_sizes.tolist()})")
        if ((tokens < 0) | (tokens >= self.config.vocab_size)).any():
            raise ValueError(f"token ids must be in [0, {self.config.vocab_size})")

    def _logits(self, hidden: torch.Tensor, vocab_range: tuple[int, int] | None = None) -> torch.Tensor:
        lo, hi = vocab_range if vocab_range is not None else (0, self.config.vocab_size)
        hidden = self.embed_out(self.norm(hidden))
        if self.output_projection is not None:
            return self.output_projection(hidden, lo, hi)
        return F.linear(hidden, self.token_embedding.weight[lo:hi])

    def forward(self, tokens: torch.Tensor, positions: torch.Tensor, modality: torch.Tensor,
                prefix_len: torch.Tensor, valid: torch.Tensor | None = None, return_loss: bool = False) -> torch.Tensor:
        """Full-recompute pass: logits (B, L, vocab_size), or with `return_loss` the training loss,
        equal to `lm_loss` of those logits but computed from the output positions' logits alone:
        the vocabulary projection is most of a step's memory, and long prefixes (stylization,
        inpainting, continuation) would spend it on positions that carry no loss."""
        self._check_inputs(tokens, positions, modality)
        shared = self._shared_prefix(prefix_len, valid) if self.shared_prefix_attention else None
        mask = self._attention_mask(prefix_len, tokens.shape[1], valid) if shared is None else shared
        x = self._embed(tokens, positions, modality, self._is_output(prefix_len, tokens.shape[1]))
        for block in self.blocks:
            x = block(x, mask, None)
        if not return_loss:
            return self._logits(x)
        counted = _predicts_output(tokens, prefix_len, valid)
        logits = self._logits(x[:, :-1][counted]).float()
        return F.cross_entropy(logits, tokens[:, 1:][counted])

    @staticmethod
    def _shared_prefix(prefix_len: torch.Tensor, valid: torch.Tensor | None) -> int | None:
        """The prefix length when every row has the same one and no padding, as in every training
        batch (one task's layout, equal lengths): attention then needs no mask tensor and runs as
        flash attention (`prefix_lm_attention`; scripts/bench_train_lm.py measures both paths)."""
        if valid is not None and not bool(valid.all()):
            return None
        shared = int(prefix_len[0])
        return shared if bool((prefix_len == shared).all()) else None

    @staticmethod
    def _attention_mask(prefix_len: torch.Tensor, length: int, valid: torch.Tensor | None) -> torch.Tensor:
        # Padding queries also see themselves: a query with no visible key gets NaN from SDPA, and
        # that NaN times a zero attention weight would poison every later query.
        diagonal = torch.eye(length, dtype=torch.bool, device=prefix_len.device)
        return prefix_lm_mask(prefix_len, length, valid) | diagonal

    def setup_cache(self, batch: int, max_len: int | None = None, device: torch.device | str | None = None,
                    dtype: torch.dtype | None = None) -> None:
        """Allocate the static KV cache for `batch` sequences of up to `max_len` tokens. Each
        block's cache goes where that block runs, so a model split by an accelerate device_map
        keeps its cache next to each block's weights. The cache defaults to the model's dtype on
        accelerators and to fp32 on the CPU, where attention over a bf16 cache measured 5x slower
        (no native bf16 kernels on AVX2 machines) while bf16 weights make the matmuls 3x faster."""
        max_len = max_len or self.config.max_len
        device = torch.device(device or self.device)
        dtype = dtype or (torch.float32 if device.type == "cpu" else self.dtype)
        head_dim = self.config.d_model // self.config.n_heads
        shape = (batch, self.config.n_heads, max_len, head_dim)
        for block in self.blocks:
            block_device = _execution_device(block, device)
            block.attention.k_cache = torch.zeros(shape, device=block_device, dtype=dtype)
            block.attention.v_cache = torch.zeros(shape, device=block_device, dtype=dtype)
        self.cache_valid = torch.zeros(batch, max_len, device=device, dtype=torch.bool)

    def prefill(self, tokens: torch.Tensor, positions: torch.Tensor, modality: torch.Tensor,
                prefix_len: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        """Run the prompt into cache slots [0, L) and return the logits of each row's last valid
        token, (B, vocab_size). Rows may be right-padded (valid False): the padding slots stay
        masked, and decoding continues at slot L for every row."""
        if self.cache_valid is None or self.cache_valid.shape[0] != tokens.shape[0]:
            raise RuntimeError("call setup_cache(batch, ...) with this batch size before prefill")
        batch, length = tokens.shape
        cache_len = self.cache_valid.shape[1]
        if length >= cache_len:
            raise ValueError(f"prompt of {length} tokens leaves no room in a cache of {cache_len}")
        self._check_inputs(tokens, positions, modality)
        if valid is None:
            valid = torch.ones_like(tokens, dtype=torch.bool)
        self.cache_valid.zero_()
        self.cache_valid[:, :length] = valid
        mask = self._attention_mask(prefix_len, length, valid)
        cache_position = torch.arange(length, device=tokens.device)
        x = self._embed(tokens, positions, modality, self._is_output(prefix_len, length))
        for block in self.blocks:
            x = block(x, mask, cache_position)
        # x comes from the last block, which a device_map may have put on another device.
        last = (length - 1 - valid.flip(1).long().argmax(dim=1)).to(x.device)
        return self._logits(x[torch.arange(batch, device=x.device), last])

    def decode_step(self, token: torch.Tensor, position: torch.Tensor, modality: torch.Tensor,
                    cache_position: torch.Tensor, vocab_range: tuple[int, int] | None = None,
                    whole_cache: bool = False) -> torch.Tensor:
        """One output token per row: token (B, 1), position (B, 1, 3), modality (B, 1),
        cache_position a 1-element long tensor (the slot to write: prompt length + tokens decoded
        so far). Attends over slots [0, cache_position]. Returns logits (B, vocab_size), or
        (B, hi - lo) for the ids [lo, hi) of `vocab_range`: the output projection is a third of
        the weights a step reads, and a segment samples from its own code range only.

        `whole_cache` attends over every slot with the later ones masked: the same logits from
        shapes that never change and no read of cache_position on the host, which a CUDA graph
        needs (`sampling.CUDAGraphDecodeStep`)."""
        self.cache_valid.index_fill_(1, cache_position, True)
        end = self.cache_valid.shape[1] if whole_cache else int(cache_position[-1]) + 1
        mask = self.cache_valid[:, None, None, :end]
        x = self._embed(token, position, modality, torch.ones_like(token, dtype=torch.bool))
        for block in self.blocks:
            x = block(x, mask, cache_position)
        return self._logits(x[:, -1], vocab_range)
