"""The .mem language: parse -> check -> resolved Profile/Study models. Never imports torch."""
