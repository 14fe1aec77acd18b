"""Llama-3-70B's layer table (decoder-only transformer)."""

from __future__ import annotations

from dataclasses import dataclass

from edgequest.engine.architectures.core import (
    Architecture,
    _Builder,
    _loss,
)

# --------------------------------------------------------------------------------------------
# Llama-3-70B
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TransformerShape:
    """The published shape of a decoder-only transformer (one source for every model of it)."""

    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    ffn: int
    vocab: int

    @property
    def kv_width(self) -> int:
        return self.kv_heads * self.head_dim

    def role_shapes(self) -> dict[str, tuple[int, int]]:
        """(d_in, d_out) of each linear map of one decoder layer, by role."""
        h, kv, f = self.hidden, self.kv_width, self.ffn
        return {"q": (h, h), "k": (h, kv), "v": (h, kv), "o": (h, h), "gate": (h, f), "up": (h, f), "down": (f, h)}


# Meta's published configuration (meta-llama/Meta-Llama-3-70B config.json; Dubey et al. 2024, Table 3).
LLAMA3_70B = TransformerShape(hidden=8192, layers=80, heads=64, kv_heads=8, head_dim=128, ffn=28672, vocab=128256)


def _build_llama3_70b(seq_len: int) -> Architecture:
    """Llama-3-70B decoder at a given sequence length.

    Shapes from Meta's published configuration (meta-llama/Meta-Llama-3-70B config.json, and
    Dubey et al., "The Llama 3 Herd of Models", 2024, Table 3): hidden 8192, 80 layers, 64
    query heads and 8 key/value heads of dimension 128 (grouped-query attention, so the k and v
    projections map 8192 -> 1024), SwiGLU MLP of width 28672 (gate, up, down), vocabulary
    128256, RMSNorm without bias, no biases on any linear map, untied input embedding and LM
    head. Total 70,553,706,496 parameters.

    Stored tensors follow the per-operator accounting of Korthikanti et al. (MLSys 2023,
    Sec. 4.1) adapted to this block: no dropout (Llama trains without it), SwiGLU instead of
    GeLU, grouped K/V, and FlashAttention (Dao et al., NeurIPS 2022): attention stores Q, K, V
    and the per-row softmax log-sum-exp (fp32) and recomputes the s x s probabilities in
    backward; its output is stored as the o projection's input. Nothing s x s is stored or
    held at once. (Keeping the softmax output instead adds 64 x s^2 x 2 bytes per layer.)
    """
    shape = LLAMA3_70B
    hidden, n_layers, heads, kv_heads, head_dim = shape.hidden, shape.layers, shape.heads, shape.kv_heads, shape.head_dim
    ffn, vocab = shape.ffn, shape.vocab
    kv = kv_heads * head_dim
    s = seq_len
    b = _Builder()

    blk = b.begin_block("embed")
    ids = b.tensor("token_ids", s)
    resid = b.tensor("embed.out", s * hidden)
    b.add(
        name="embed",
        kind="embedding",
        block=blk,
        role="embed",
        weight_params=vocab * hidden,
        d_in=vocab,
        d_out=hidden,
        positions=s,
        input_elems=s,
        output_elems=s * hidden,
        input_tensor=ids,
        output_tensor=resid,
        live_elems=s + s * hidden,
    )

    def linear(name: str, blk: int, role: str, x: int, d_in: int, d_out: int, held: int) -> int:
        out = b.tensor(f"{name}.out", s * d_out)
        b.add(
            name=name,
            kind="linear",
            block=blk,
            role=role,
            weight_params=d_in * d_out,
            d_in=d_in,
            d_out=d_out,
            positions=s,
            input_elems=s * d_in,
            output_elems=s * d_out,
            input_tensor=x,
            output_tensor=out,
            live_elems=held + s * d_in + s * d_out,
            macs=s * d_in * d_out,
        )
        return out

    def rmsnorm(name: str, blk: int, x: int, held: int) -> int:
        out = b.tensor(f"{name}.out", s * hidden)
        # RMSNorm backward to its input needs the input itself (1/rms(x) depends on x), so its
        # input is the saved tensor as well as what the scale gradient needs.
        b.add(
            name=name,
            kind="norm",
            block=blk,
            role="norm",
            norm_scale_params=hidden,
            norm="rms",
            d_in=hidden,
            d_out=hidden,
            positions=s,
            input_elems=s * hidden,
            output_elems=s * hidden,
            input_tensor=x,
            output_tensor=out,
            saved_tensor=x,
            live_elems=held + 2 * s * hidden,
        )
        return out

    sh = s * hidden
    for i in range(n_layers):
        blk = b.begin_block(f"decoder.{i}")
        p = f"decoder.{i}"
        xn = rmsnorm(f"{p}.attn_norm", blk, resid, 0)
        # q, k and v read one normalised input; attention keeps its own post-RoPE copies.
        linear(f"{p}.q", blk, "q", xn, hidden, hidden, sh)
        linear(f"{p}.k", blk, "k", xn, hidden, kv, sh + sh)
        linear(f"{p}.v", blk, "v", xn, hidden, kv, sh + sh + s * kv)
        qkv_elems = s * (hidden + 2 * kv)
        lse_elems = 2 * heads * s  # one fp32 log-sum-exp per head and row, in 16-bit slots
        attn_saved = b.tensor(f"{p}.attn.saved", qkv_elems + lse_elems)
        attn_in = b.tensor(f"{p}.attn.qkv", qkv_elems)
        attn_out = b.tensor(f"{p}.attn.out", sh)
        b.add(
            name=f"{p}.attn",
            kind="attention",
            block=blk,
            role="attention",
            d_in=hidden,
            d_out=hidden,
            positions=s,
            input_elems=qkv_elems,
            output_elems=sh,
            input_tensor=attn_in,
            output_tensor=attn_out,
            saved_tensor=attn_saved,
            live_elems=sh + qkv_elems + lse_elems + sh,
            persistent_elems=2 * s * kv,  # KV cache kept for the whole inference pass
            # QK^T and PV: each s*s*head_dim per head, i.e. s^2 * hidden in total.
            macs=2 * s * s * hidden,
        )
        resid = linear(f"{p}.o", blk, "o", attn_out, hidden, hidden, sh)  # added in place
        xn = rmsnorm(f"{p}.mlp_norm", blk, resid, 0)
        linear(f"{p}.gate", blk, "gate", xn, hidden, ffn, sh)
        linear(f"{p}.up", blk, "up", xn, hidden, ffn, sh + s * ffn)
        glu_in = b.tensor(f"{p}.glu.in", 2 * s * ffn)
        glu_saved = b.tensor(f"{p}.glu.saved", 2 * s * ffn)  # SiLU needs gate, product needs up
        h_act = b.tensor(f"{p}.glu.out", s * ffn)
        b.add(
            name=f"{p}.glu",
            kind="glu",
            block=blk,
            role="glu",
            act="silu",
            d_in=ffn,
            d_out=ffn,
            positions=s,
            input_elems=2 * s * ffn,
            output_elems=s * ffn,
            input_tensor=glu_in,
            output_tensor=h_act,
            saved_tensor=glu_saved,
            live_elems=sh + 3 * s * ffn,
        )
        resid = linear(f"{p}.down", blk, "down", h_act, ffn, hidden, sh)  # added in place

    blk = b.begin_block("head")
    xf = rmsnorm("final_norm", blk, resid, 0)
    logits = linear("lm_head", blk, "lm_head", xf, hidden, vocab, 0)
    _loss(b, blk, logits, s * vocab)

    return Architecture(
        name="llama3-70b",
        family="transformer",
        layers=tuple(b.layers),
        tensors=tuple(b.tensors),
        block_names=tuple(b.block_names),
        source=(
            "Meta Llama 3 70B published configuration (hidden 8192, 80 layers, 64 heads, "
            "8 KV heads x 128, MLP 28672, vocab 128256); Dubey et al., The Llama 3 Herd of "
            "Models, 2024"
        ),
        default_precision="mixed",
        default_lora_targets=("q", "v"),
        input_description=f"{seq_len} tokens",
        num_classes=vocab,
        seq_len=seq_len,
    )
