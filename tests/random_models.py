"""A byte-level BPE tokenizer with a ChatML template and random-weight Llamas, all built in code: for machines where
no tokenizer or weights can be fetched (the GPU check, benchmarks/gpu_check.sh; the --gpu throughput benchmark)."""

from __future__ import annotations

from pathlib import Path

CHATML = ("{% for message in messages %}"
          "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
          "{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def build_tokenizer(texts, vocab_size: int = 1024):
    """A byte-level BPE learnt from `texts` (any text still encodes: bytes are the base alphabet), with ChatML."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False))
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>", chat_template=CHATML)


def random_llama(out: Path, tokenizer, seed: int = 0, device: str = "cpu", save_dtype=None, **shape) -> Path:
    """A Llama with random weights and `tokenizer` saved as a model folder; `shape` overrides LlamaConfig fields
    (vocab_size defaults to the tokenizer's)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    shape = {"vocab_size": len(tokenizer), "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
             "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 4096,
             "tie_word_embeddings": True, **shape}
    config = LlamaConfig(**shape, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(seed)
    with torch.device(device):
        model = LlamaForCausalLM(config)
    if save_dtype is not None:
        model.to(save_dtype)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
