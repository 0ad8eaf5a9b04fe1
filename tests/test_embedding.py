"""The embedding model: the NumPy encoder and sentence-transformers give the same vectors."""

import subprocess
import sys

import numpy as np

from tests.conftest import ROOT, SEED

TEXTS = [
    "Kataib Hezbollah announced on Tuesday that it was suspending attacks. The move appears "
    "to have had little effect on Washington.",
    "Who claimed the Haifa attack?",
]


def _spans(text: str) -> list[tuple[int, int]]:
    from assistant.text import split_sentences

    return split_sentences(text)


def test_question_vectors_match_sentence_transformers(embed_model):
    torch_vectors = embed_model.sentence_transformer.encode(TEXTS, normalize_embeddings=True)
    for text, expected in zip(TEXTS, torch_vectors, strict=True):
        assert np.allclose(embed_model.query_vector(text), expected, atol=1e-4)


def test_chunk_and_sentence_vectors_match_between_numpy_and_torch(embed_model):
    spans = [_spans(t) for t in TEXTS]
    chunks, sentences = embed_model.encode_chunks(TEXTS, spans)  # torch: the model is loaded
    np_chunks, np_sentences = embed_model._encode_chunks_numpy(TEXTS, spans)
    assert np.allclose(chunks, np_chunks, atol=1e-4)
    assert len(sentences[0]) == 2
    for a, b in zip(sentences, np_sentences, strict=True):
        assert a.shape == b.shape and np.allclose(a, b, atol=1e-4)


def test_chunk_vectors_batched_by_token_count_match_a_plain_encode(embed_model):
    """Texts of many lengths share padded batches; each vector is what ``encode`` gives alone."""
    words = SEED.read_text(encoding="utf-8").split()
    texts = [" ".join(words[i : i + n]) for i, n in enumerate([3, 400, 40, 7, 120, 1, 60, 250])]
    batch_size = embed_model.embed_batch_size
    embed_model.embed_batch_size = 3  # several batches, each padded to a different width
    try:
        chunks, sentences = embed_model.encode_chunks(texts, [[(0, len(t))] for t in texts])
    finally:
        embed_model.embed_batch_size = batch_size
    expected = embed_model.sentence_transformer.encode(texts, normalize_embeddings=True)
    assert np.allclose(chunks, expected, atol=1e-4)
    _, alone = embed_model._encode_chunks_numpy(texts, [[(0, len(t))] for t in texts])
    for batched, one in zip(sentences, alone, strict=True):  # padding never enters a span
        assert np.allclose(batched, one, atol=1e-4)


def test_a_small_ingest_needs_no_torch(tmp_path):
    """An upload-sized ingest in a fresh process embeds with NumPy: torch is never imported."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / SEED.name).write_bytes(SEED.read_bytes())
    script = (
        "import sys; from assistant import Assistant; "
        f"s = Assistant(data_dir={str(tmp_path / 'index')!r}).ingest({str(corpus)!r}, "
        "progress=False); print(s.line()); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=ROOT, timeout=300, check=True).stdout.split("\n")  # fmt: skip
    assert out[0].startswith("1 added") and out[1] == "False", out


def test_mapped_weights_are_the_files_tensors_shared_not_copied(tmp_path):
    """``mapped_weights`` gives what safetensors' own loader gives, as read-only views of one
    memory map (so processes share the pages); a file with a dtype NumPy lacks is refused."""
    import mmap

    from safetensors.numpy import load_file, save_file

    from assistant.encoder import _numpy_dtypes, mapped_weights

    tensors = {"a.weight": np.arange(12, dtype=np.float32).reshape(3, 4) / 7,
               "b.ids": np.array([[5, -2]], dtype=np.int64),
               "c.half": np.ones((2, 3), dtype=np.float16)}  # fmt: skip
    path = tmp_path / "model.safetensors"
    save_file(tensors, str(path), metadata={"format": "np"})
    mapped, copied = mapped_weights(path), load_file(str(path))
    assert mapped.keys() == copied.keys()
    for name, array in mapped.items():
        assert array.dtype == copied[name].dtype and np.array_equal(array, copied[name]), name
        base = array
        while isinstance(base, np.ndarray):
            base = base.base
        base = base.obj if isinstance(base, memoryview) else base
        assert not array.flags.writeable and isinstance(base, mmap.mmap), name

    raw = path.read_bytes()  # the same file with a dtype NumPy has no type for
    size = int.from_bytes(raw[:8], "little")
    header = raw[8 : 8 + size].replace(b'"F16"', b'"BF16"')
    path.write_bytes(len(header).to_bytes(8, "little") + header + raw[8 + size :])
    assert not _numpy_dtypes(path)  # so QueryEncoder.supports says no: torch encodes
