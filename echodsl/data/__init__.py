"""Data layer: the embedded procedural world (``world``, ``scene``, ``render``,
``trajectory``), the Context-as-Memory layout (``cam``, ``export``, ``check``), the one
memory retriever (``retriever``), training segments (``segments``), codecs and the latent
cache (``codec``), caption embeddings (``text``). Import the submodule you need; this
package imports nothing (torch stays out of ``echodsl validate``)."""
