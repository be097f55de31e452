import pytest
import torch

from videopoet.model import (
    CUDAGraphDecodeStep,
    PrefixBatch,
    VideoPoetTransformer,
    lm_loss,
    prefix_lm_mask,
    sample,
)

VOCAB = 96
TINY = {"vocab_size": VOCAB, "max_len": 128, "d_model": 32, "n_layers": 2, "n_heads": 4, "mlp_hidden": 64, "embed_dim": 16}


def tiny_model(seed: int = 0, **overrides) -> VideoPoetTransformer:
    torch.manual_seed(seed)
    return VideoPoetTransformer(**{**TINY, **overrides}).eval()


def random_sequence(batch: int, length: int, seed: int = 0):
    """Tokens with a plausible mix of modalities: special, text, video, audio."""
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, VOCAB, (batch, length), generator=g)
    modality = torch.randint(0, 4, (batch, length), generator=g)
    positions = torch.zeros(batch, length, 3, dtype=torch.long)
    positions[..., 0] = torch.where(modality == 1, torch.randint(0, 64, (batch, length), generator=g), 0)
    video = modality == 2
    positions[..., 0] = torch.where(video, torch.randint(0, 16, (batch, length), generator=g), positions[..., 0])
    positions[..., 1] = torch.where(video, torch.randint(0, 28, (batch, length), generator=g), 0)
    positions[..., 2] = torch.where(video, torch.randint(0, 16, (batch, length), generator=g), 0)
    audio = modality == 3
    positions[..., 0] = torch.where(audio, torch.randint(0, 106, (batch, length), generator=g), positions[..., 0])
    positions[..., 1] = torch.where(audio, torch.randint(0, 4, (batch, length), generator=g), positions[..., 1])
    return tokens, positions, modality


def test_default_config_size():
    model = VideoPoetTransformer()
    params = sum(p.numel() for p in model.parameters())
    print(f"default parameters: {params:,}")
    assert model.config.vocab_size == 16384 + 4096 + 2048 + 40
    assert 20e6 <= params <= 30e6


def test_prefix_mask_is_bidirectional_then_causal():
    length = 7
    for prefix in (0, 1, 3, 7):
        for pad in (0, 2):
            valid = torch.ones(1, length, dtype=torch.bool)
            if pad:
                valid[0, -pad:] = False
            expected = torch.zeros(length, length, dtype=torch.bool)
            for i in range(length):
                for j in range(length):
                    expected[i, j] = bool(valid[0, j]) and (j < prefix or j <= i)
            got = prefix_lm_mask(torch.tensor([prefix]), length, valid)
            assert got.shape == (1, 1, length, length)
            assert torch.equal(got[0, 0], expected), (prefix, pad)
    # Per-row prefix lengths in one batch, with a padding hole in the middle of row 1.
    valid = torch.ones(2, 5, dtype=torch.bool)
    valid[1, 2] = False
    got = prefix_lm_mask(torch.tensor([2, 4]), 5, valid)[:, 0]
    assert got[0, 0].tolist() == [True, True, False, False, False]
    assert got[1, 0].tolist() == [True, True, False, True, False]
    assert got[1, 4].tolist() == [True, True, False, True, True]


@pytest.mark.parametrize("prefix", [0, 1, 5, 11, 12])
def test_shared_prefix_attention_equals_the_masked_path(prefix):
    """Training batches (one prefix length, no padding) skip the mask tensor; the two SDPA calls
    must give the explicit mask's outputs and gradients."""
    tokens, positions, modality = random_sequence(3, 12, seed=prefix)
    prefix_len = torch.full((3,), prefix)
    results = []
    for shared in (True, False):
        model = tiny_model(seed=1).train()
        model.shared_prefix_attention = shared
        logits = model(tokens, positions, modality, prefix_len)
        logits.square().mean().backward()
        results.append((logits.detach(), model.blocks[0].attention.qkv.weight.grad))
    (fast, fast_grad), (masked, masked_grad) = results
    assert torch.allclose(fast, masked, atol=1e-5)
    assert torch.allclose(fast_grad, masked_grad, atol=1e-6)


def test_shared_prefix_path_is_taken_only_without_padding_and_with_one_prefix():
    one = torch.tensor([4, 4])
    assert VideoPoetTransformer._shared_prefix(one, None) == 4
    assert VideoPoetTransformer._shared_prefix(one, torch.ones(2, 9, dtype=torch.bool)) == 4
    padded = torch.ones(2, 9, dtype=torch.bool)
    padded[1, -1] = False
    assert VideoPoetTransformer._shared_prefix(one, padded) is None
    assert VideoPoetTransformer._shared_prefix(torch.tensor([4, 5]), None) is None


def test_prefix_attention_is_bidirectional_in_model():
    model = tiny_model()
    tokens, positions, modality = random_sequence(1, 12)
    prefix_len = torch.tensor([6])
    changed = tokens.clone()
    changed[0, 4] = (changed[0, 4] + 1) % VOCAB
    with torch.no_grad():
        a = model(tokens, positions, modality, prefix_len)
        b = model(changed, positions, modality, prefix_len)
    assert not torch.allclose(a[0, 2], b[0, 2])  # earlier prefix token sees a later prefix token
    changed = tokens.clone()
    changed[0, 9] = (changed[0, 9] + 1) % VOCAB
    with torch.no_grad():
        b = model(changed, positions, modality, prefix_len)
    assert torch.allclose(a[0, :9], b[0, :9])  # outputs never leak backwards


def test_role_tells_a_conditioning_token_from_an_output_token_at_the_same_cell():
    # Stylization's structure video and its output share modality and cells, as do inpainting's
    # masked input and its fill; the role embedding is what separates them.
    model = tiny_model()
    tokens, positions, modality = random_sequence(1, 8)
    tokens[0, 6] = tokens[0, 2]
    positions[0, 2] = positions[0, 6] = torch.tensor([1, 2, 3])
    modality[0, 2] = modality[0, 6] = 2
    output = model._is_output(torch.tensor([4]), 8)
    assert output[0].tolist() == [False] * 4 + [True] * 4
    with torch.no_grad():
        embedded = model._embed(tokens, positions, modality, output)
        assert not torch.allclose(embedded[0, 2], embedded[0, 6])
        model.role_embedding.weight.zero_()
        embedded = model._embed(tokens, positions, modality, output)
    assert torch.equal(embedded[0, 2], embedded[0, 6])


@pytest.mark.parametrize("whole_cache", [False, True])
def test_kv_cache_decoding_matches_full_recompute(whole_cache):
    model = tiny_model()
    batch, prompt_len, n_new = 2, 10, 20
    tokens, positions, modality = random_sequence(batch, prompt_len + n_new, seed=1)
    prefix_len = torch.tensor([10, 6])
    valid = torch.ones(batch, prompt_len + n_new, dtype=torch.bool)
    valid[1, 7:10] = False  # row 1 is a shorter prompt, right-padded to the batch's length
    with torch.no_grad():
        full = model(tokens, positions, modality, prefix_len, valid)
        model.setup_cache(batch, prompt_len + n_new)
        step_logits = [model.prefill(tokens[:, :prompt_len], positions[:, :prompt_len], modality[:, :prompt_len],
                                     prefix_len, valid[:, :prompt_len])]
        for step in range(n_new - 1):
            slot = prompt_len + step
            step_logits.append(model.decode_step(tokens[:, slot : slot + 1], positions[:, slot : slot + 1],
                                                 modality[:, slot : slot + 1], torch.tensor([slot]),
                                                 whole_cache=whole_cache))
    assert torch.allclose(step_logits[0][0], full[0, prompt_len - 1], atol=1e-4)
    assert torch.allclose(step_logits[0][1], full[1, 6], atol=1e-4)  # row 1's last valid prompt token
    for step in range(1, n_new):
        assert torch.allclose(step_logits[step], full[:, prompt_len + step - 1], atol=1e-4), step


def test_loss_ignores_prefix_targets():
    model = tiny_model()
    tokens, positions, modality = random_sequence(2, 16, seed=2)
    prefix_len = torch.tensor([8, 5])
    valid = torch.ones(2, 16, dtype=torch.bool)
    valid[1, -3:] = False
    with torch.no_grad():
        logits = model(tokens, positions, modality, prefix_len, valid)
    base = lm_loss(logits, tokens, prefix_len, valid)
    for row, index in ((0, 3), (0, 7), (1, 4), (1, 14)):  # prefix targets and a padding target
        changed = tokens.clone()
        changed[row, index] = (changed[row, index] + 1) % VOCAB
        assert torch.equal(lm_loss(logits, changed, prefix_len, valid), base), (row, index)
    for row, index in ((0, 8), (0, 15), (1, 5)):
        changed = tokens.clone()
        changed[row, index] = (changed[row, index] + 1) % VOCAB
        assert not torch.equal(lm_loss(logits, changed, prefix_len, valid), base), (row, index)
    # Averaged per output token: 8 targets in row 0 (8..15), 8 in row 1 (5..12).
    log_probs = logits[:, :-1].log_softmax(-1).gather(-1, tokens[:, 1:, None])[..., 0]
    expected = -(log_probs[0, 7:].sum() + log_probs[1, 4:12].sum()) / 16
    assert torch.allclose(base, expected, atol=1e-5)
    # The training path computes the same loss from the output positions' logits alone.
    with torch.no_grad():
        direct = model(tokens, positions, modality, prefix_len, valid, return_loss=True)
    assert torch.allclose(direct, base, atol=1e-5)


def test_save_and_load_round_trip(tmp_path):
    model = tiny_model()
    tokens, positions, modality = random_sequence(2, 12, seed=3)
    prefix_len = torch.tensor([4, 7])
    model.save_pretrained(tmp_path)
    loaded = VideoPoetTransformer.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        assert torch.equal(model(tokens, positions, modality, prefix_len), loaded(tokens, positions, modality, prefix_len))


def test_out_of_range_positions_are_rejected():
    model = tiny_model()
    tokens, positions, modality = random_sequence(1, 4)
    modality[0, 0], positions[0, 0] = 2, torch.tensor([0, 28, 0])  # video y has 28 rows
    with pytest.raises(ValueError):
        model(tokens, positions, modality, torch.tensor([2]))


def prompt_and_layout(batch: int = 2, prompt_len: int = 8, n_new: int = 12, seed: int = 4):
    tokens, positions, modality = random_sequence(batch, prompt_len, seed=seed)
    prefix = PrefixBatch(tokens, positions, modality, torch.full((batch,), prompt_len))
    t = torch.arange(n_new)
    out_positions = torch.stack([t // 4, t % 4, torch.zeros_like(t)], dim=-1)  # audio (frame, level)
    out_modality = torch.full((n_new,), 3)
    return prefix, out_positions, out_modality


def test_sampling_matches_greedy_full_recompute():
    model = tiny_model()
    prefix, out_positions, out_modality = prompt_and_layout(batch=1)
    new = sample(model, prefix, 12, out_positions, out_modality, temperature=0)
    tokens = prefix.tokens
    positions, modality = prefix.positions, prefix.modality
    with torch.no_grad():
        for step in range(12):
            logits = model(tokens, positions, modality, prefix.prefix_len)
            assert logits[0, -1].argmax() == new[0, step]
            tokens = torch.cat([tokens, new[:, step : step + 1]], 1)
            positions = torch.cat([positions, out_positions[None, step : step + 1]], 1)
            modality = torch.cat([modality, out_modality[None, step : step + 1]], 1)


def test_fixed_seed_reproduces_and_candidates_differ():
    model = tiny_model()
    prefix, out_positions, out_modality = prompt_and_layout()
    kwargs = {"temperature": 1.0, "num_candidates": 3}
    a = sample(model, prefix, 12, out_positions, out_modality, generator=torch.Generator().manual_seed(7), **kwargs)
    b = sample(model, prefix, 12, out_positions, out_modality, generator=torch.Generator().manual_seed(7), **kwargs)
    assert a.shape == (6, 12) and a.dtype == torch.long
    assert torch.equal(a, b)
    for row in range(2):
        candidates = {tuple(c) for c in a[row * 3 : row * 3 + 3].tolist()}
        assert len(candidates) == 3


def test_decoding_leaves_cudnn_attention_out_and_restores_it():
    # cuDNN plans a kernel per key length, and decoding grows the key length every token (65 ms
    # instead of 5 ms a step on an H200): sample() must run with it off, and turn it back on after.
    model = tiny_model()
    prefix, out_positions, out_modality = prompt_and_layout(n_new=3)
    seen = []
    sample(model, prefix, 3, out_positions, out_modality, temperature=0,
           progress=lambda step, total: seen.append(torch.backends.cuda.cudnn_sdp_enabled()))
    assert seen == [False, False, False]
    assert torch.backends.cuda.cudnn_sdp_enabled()


def test_cfg_scale_one_equals_conditional_sampling():
    model = tiny_model()
    prefix, out_positions, out_modality = prompt_and_layout()
    negative_tokens, negative_positions, negative_modality = random_sequence(1, 5, seed=9)
    negative = PrefixBatch(negative_tokens, negative_positions, negative_modality, torch.tensor([5]))

    def draw(**guidance):
        return sample(model, prefix, 12, out_positions, out_modality, temperature=1.0, top_k=40,
                      generator=torch.Generator().manual_seed(3), **guidance)

    plain = draw()
    assert torch.equal(plain, draw(cfg_scale=1.0, uncond_prefix=negative))
    strong = draw(cfg_scale=5.0, uncond_prefix=negative)
    assert not torch.equal(plain, strong)
    with pytest.raises(ValueError):
        sample(model, prefix, 4, out_positions[:4], out_modality[:4], cfg_scale=2.0)


def test_restricted_sampling_stays_in_range():
    model = tiny_model()
    prefix, out_positions, out_modality = prompt_and_layout(n_new=16)
    generator = torch.Generator().manual_seed(0)
    for lo, hi in ((0, 1), (10, 20), (50, 96), (95, 96), (33, 35)):
        new = sample(model, prefix, 16, out_positions, out_modality, allowed_range=(lo, hi),
                     temperature=2.0, num_candidates=4, generator=generator)
        assert new.min() >= lo and new.max() < hi

    def levels(step: int) -> tuple[int, int]:  # like RVQ audio: each level has its own slice
        return step % 4 * 20, step % 4 * 20 + 20

    seen = []
    new = sample(model, prefix, 16, out_positions, out_modality, allowed_range=levels, temperature=1.5,
                 top_p=0.9, num_candidates=4, generator=generator, progress=lambda s, n: seen.append((s, n)))
    for step in range(16):
        lo, hi = levels(step)
        assert new[:, step].min() >= lo and new[:, step].max() < hi
    assert seen == [(s, 16) for s in range(1, 17)]


def test_cuda_graph_decoding_only_where_it_can_run():
    model = tiny_model()
    assert not CUDAGraphDecodeStep.usable(model)  # on the CPU
    if torch.cuda.is_available():
        assert CUDAGraphDecodeStep.usable(model.cuda())
        model.token_embedding.to("cpu")  # split across devices: the eager step
        assert not CUDAGraphDecodeStep.usable(model)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA device")
def test_cuda_graph_decoding_samples_the_eager_tokens(monkeypatch):
    model = tiny_model(max_len=256).cuda()
    prefix, out_positions, out_modality = prompt_and_layout(n_new=40)
    negative_tokens, negative_positions, negative_modality = random_sequence(1, 5, seed=9)
    negative = PrefixBatch(negative_tokens, negative_positions, negative_modality, torch.tensor([5]))

    def draw(cuda_graph: bool):
        return sample(model, prefix, 40, out_positions, out_modality, allowed_range=lambda step: (step % 2 * 40, 96),
                      temperature=1.0, top_k=20, cfg_scale=3.0, uncond_prefix=negative, num_candidates=2,
                      generator=torch.Generator().manual_seed(5), cuda_graph=cuda_graph)

    replays = []
    replay = torch.cuda.CUDAGraph.replay
    monkeypatch.setattr(torch.cuda.CUDAGraph, "replay", lambda graph: replays.append(1) or replay(graph))
    graphed = draw(cuda_graph=True)
    # 40 tokens: the first from the prefill, the second from the step that captures, then replays.
    assert len(replays) == 38
    eager = draw(cuda_graph=False)
    assert len(replays) == 38
    assert torch.equal(graphed, eager)
