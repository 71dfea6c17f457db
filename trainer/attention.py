"""Per-document causal attention for packed rows on the CPU: `attn_implementation="sdpa_documents"`.

With several documents in a row, sdpa needs a dense [row, row] document mask: it computes every score of the row
(a boolean mask disables the causal block skipping) and repeats the key/value heads for GQA. Here each document is
its own causal sdpa call, so the work is sum(n_i^2) / 2 instead of row^2. Documents are found as transformers finds
them (masking_utils.find_packed_sequence_indices): a new one starts wherever the position does not follow the
previous one, so the trainer's packed rows (and its padding, a document of its own) need no mask at all.
"""

from __future__ import annotations

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward

NAME = "sdpa_documents"


def document_lengths(position_ids: torch.Tensor) -> list[list[int]]:
    """Per row, the length of each document: a document starts where the position is not the previous one + 1."""
    starts = torch.ones_like(position_ids, dtype=torch.bool)
    starts[:, 1:] = position_ids[:, 1:] != position_ids[:, :-1] + 1
    width = position_ids.shape[1]
    lengths = []
    for row in starts.cpu():
        at = row.nonzero().flatten().tolist() + [width]
        lengths.append([b - a for a, b in zip(at, at[1:])])
    return lengths


@torch.compiler.disable  # a Python loop over data-dependent lengths: compiled layers call it eagerly
def sdpa_documents(module, query, key, value, attention_mask, position_ids=None, **kwargs):
    """query/key/value: [batch, heads, seq, head_dim]; returns ([batch, seq, heads, head_dim], None) like sdpa."""
    if attention_mask is not None or position_ids is None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    rows = []
    # unbind and split (not indexing): their backward is one stack / cat, not a zero-filled tensor per document
    for q, k, v, lengths in zip(query.unbind(0), key.unbind(0), value.unbind(0),
                                document_lengths(position_ids.expand(query.shape[0], -1))):
        parts = [sdpa_attention_forward(module, qd[None], kd[None], vd[None], None, **kwargs)[0]
                 for qd, kd, vd in zip(q.split(lengths, 1), k.split(lengths, 1), v.split(lengths, 1))]
        rows.append(torch.cat(parts, dim=1))
    return torch.cat(rows, dim=0), None


AttentionInterface.register(NAME, sdpa_documents)
