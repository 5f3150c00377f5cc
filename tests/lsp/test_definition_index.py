"""The per-model definition index must not keep models alive."""

from __future__ import annotations

import gc
from pathlib import Path

from tilt_lsp.features import _doc
from tilt_lsp.tiltfile.evaluate import evaluate


def test_index_follows_the_model_and_is_dropped_with_it(tmp_path: Path) -> None:
    tf = tmp_path / "Tiltfile"
    tf.write_text("def helper():\n    pass\nNAME = 'x'\n")
    before = len(_doc._DEF_INDEX)  # noqa: SLF001 - the cache itself is under test
    models = [evaluate(str(tf)) for _ in range(40)]
    for model in models:
        index = _doc._definitions(model)  # noqa: SLF001
        assert set(index[str(tf)]) >= {"helper", "NAME"}
        assert _doc._definitions(model) is index  # noqa: SLF001 - cached by identity
    assert len(_doc._DEF_INDEX) == before + 40  # noqa: SLF001
    del models, model
    gc.collect()
    assert len(_doc._DEF_INDEX) == before  # noqa: SLF001 - no model is kept alive by its index
