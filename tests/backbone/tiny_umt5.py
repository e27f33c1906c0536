"""A tiny random umT5 encoder and a word-level tokenizer, written to a folder the way a
released encoder is (config.json, safetensors weights, tokenizer.json): all built here,
since nothing can be downloaded."""

from __future__ import annotations

from pathlib import Path

import torch

WORDS = ["<pad>", "</s>", "<unk>"] + "a an the room rooms with red blue green walls floor chair table lamp".split()


def save_tiny_umt5(folder: Path, d_model: int = 32, seed: int = 0) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast, UMT5Config, UMT5EncoderModel

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>",
                            unk_token="<unk>").save_pretrained(folder)
    config = UMT5Config(vocab_size=len(WORDS), d_model=d_model, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
                        relative_attention_num_buckets=8, relative_attention_max_distance=16,
                        pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    torch.manual_seed(seed)
    UMT5EncoderModel(config).save_pretrained(folder)
    return folder
