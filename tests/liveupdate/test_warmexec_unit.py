"""The exit-status marker protocol of pre-started execs (pure)."""

from __future__ import annotations

import pytest

from tilt_lsp.liveupdate.warmexec import _MarkerReader, gated_argv, new_marker, receiver_argv, tar_argv

MARKER = "tilt-lsp-exit-0123456789abcdef"


def feed_all(chunks: list[bytes]) -> tuple[bytes, int | None, int]:
    out: list[bytes] = []
    reader = _MarkerReader(MARKER, out.append)
    done_at = -1
    for i, chunk in enumerate(chunks):
        if reader.feed(chunk):
            done_at = i
            break
    else:
        reader.flush()
    return b"".join(out), reader.status, done_at


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_marker_split_anywhere_is_found_and_stripped(size: int) -> None:
    data = b"line one\nline two without newline" + f"\n{MARKER}:3\n".encode()
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    out, status, done_at = feed_all(chunks)
    assert out == b"line one\nline two without newline"
    assert status == 3 and done_at == len(chunks) - 1


def test_output_without_marker_is_passed_through_unchanged() -> None:
    out, status, done_at = feed_all([b"a" * 500, b"b" * 3, b"\n"])
    assert out == b"a" * 500 + b"bbb\n" and status is None and done_at == -1


def test_similar_text_is_not_a_marker() -> None:
    other = "tilt-lsp-exit-ffffffffffffffff"
    out, status, _ = feed_all([f"\n{other}:1\nrest\n".encode(), f"\n{MARKER}:0\n".encode()])
    assert out == f"\n{other}:1\nrest\n".encode() and status == 0


def test_argv_shapes() -> None:
    m = new_marker()
    assert m.startswith("tilt-lsp-exit-") and m != new_marker()
    assert gated_argv(["make", "-j2"], m)[:2] == ["sh", "-c"] and gated_argv(["make", "-j2"], m)[3:] == [
        m,
        "make",
        "-j2",
    ]
    assert tar_argv(m)[-1] == m and '"$p" -C / -x -f -' in tar_argv(m)[2]
    assert receiver_argv(m)[:2] == ["sh", "-c"] and receiver_argv(m)[-1] == m
    assert '"$T" -C / -x -f -' in receiver_argv(m)[2]


def test_archive_end_is_right_after_the_end_of_archive_blocks() -> None:
    import io
    import tarfile

    from tilt_lsp.liveupdate.warmexec import archive_end

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in (("a/" + "n" * 150, b"x" * 700), ("zeros", bytes(2048)), ("empty", b"")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        d = tarfile.TarInfo("dir")
        d.type = tarfile.DIRTYPE
        tar.addfile(d)
    data = buf.getvalue()
    end = archive_end(data)
    assert end is not None and end % 512 == 0 and end < len(data)
    assert data[end - 1024 : end] == bytes(1024) and not data[end:].strip(b"\0")
    # The cut archive is complete: every member, last one a file of zeros, reads back.
    with tarfile.open(fileobj=io.BytesIO(data[:end])) as tar:
        assert [m.name for m in tar.getmembers()] == ["a/" + "n" * 150, "zeros", "empty", "dir"]
        f = tar.extractfile("zeros")
        assert f is not None and f.read() == bytes(2048)
    assert archive_end(data[: end - 512]) is None  # one end block missing
    assert archive_end(bytes(10240)) is None  # nothing but end blocks
    assert archive_end(b"not a tar" + bytes(2000)) is None
