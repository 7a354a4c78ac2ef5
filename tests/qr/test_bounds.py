"""Every length is checked against the buffer it indexes; nothing is silently overwritten."""

from __future__ import annotations

import pytest

from kpanic.errors import QRError
from kpanic.qr.encode import MIN_DATA_SIZE, MIN_TMP_SIZE, drm_panic_qr_generate

URL = "https://panic.example/report?a=x86_64&v=6.15.0&z="


def _buffers(data: bytes, data_cap: int = 4096, tmp_cap: int = 8868) -> tuple[bytearray, bytearray]:
    buf = bytearray(b"\xee" * data_cap)
    buf[: len(data)] = data
    return buf, bytearray(b"\xdd" * tmp_cap)


def test_sizes_larger_than_the_buffers_are_refused_not_trusted() -> None:
    """The bug this guards against: in v1 of "drm/panic: Add a QR code panic screen" (Jocelyn
    Falempe, 2024) the Rust entry point drm_panic_qr_generate() built its slices from the
    data_len/data_size/tmp_size handed over from C without checking them, so a caller passing
    a length larger than its buffer made the encoder read and write past it. Review added
    "a check for data_len <= data_size (Greg KH)" in v2 and "Fix data_size and tmp_size check
    in drm_panic_qr_generate()" in v3. kpanic's port goes one step further: it checks the
    sizes against the real buffers and raises instead of writing outside them.
    """
    data = bytes(range(100))
    buf, tmp = _buffers(data)
    with pytest.raises(QRError, match="data_size 8868 is larger than the data buffer"):
        drm_panic_qr_generate(URL, buf, len(data), 8868, tmp, len(tmp))
    buf, tmp = _buffers(data, tmp_cap=3706)
    with pytest.raises(QRError, match="tmp_size 8868 is larger than the tmp buffer"):
        drm_panic_qr_generate(URL, buf, len(data), len(buf), tmp, 8868)
    # data_len beyond the buffer is caught too (through data_size <= len(buffer)).
    with pytest.raises(QRError):
        drm_panic_qr_generate(URL, buf, 5000, 5000, tmp, len(tmp))


def test_kernel_argument_checks_return_zero_and_touch_nothing() -> None:
    data = b"\x78\x9c" + bytes(50)
    for data_len, data_size, tmp_size in (
        (len(data), MIN_DATA_SIZE - 1, 8868),  # data buffer too small for a V40 image
        (len(data), 4096, MIN_TMP_SIZE - 1),  # scratch too small for V40 codewords
        (4097, 4096, 8868),  # data_len > data_size
    ):
        buf, tmp = _buffers(data)
        before = (bytes(buf), bytes(tmp))
        assert drm_panic_qr_generate(URL, buf, data_len, data_size, tmp, tmp_size) == 0
        assert (bytes(buf), bytes(tmp)) == before


def test_writes_stay_inside_data_size_and_tmp_size() -> None:
    data = bytes(range(256)) * 4
    buf, tmp = _buffers(data, data_cap=6000, tmp_cap=9000)
    width = drm_panic_qr_generate(URL, buf, len(data), 4096, tmp, 8868)
    assert width > 0
    assert set(buf[4096:]) == {0xEE}  # beyond data_size: untouched
    assert set(tmp[8868:]) == {0xDD}  # beyond tmp_size: untouched
    stride = (width + 7) // 8
    assert not any(buf[stride * width : 4096])  # cleared up to data_size, like the kernel


@pytest.mark.parametrize("bad", [-1, 1.5, None])
def test_non_integer_or_negative_lengths(bad: object) -> None:
    buf, tmp = _buffers(b"abc")
    with pytest.raises(QRError, match="non-negative integer"):
        drm_panic_qr_generate(URL, buf, bad, 4096, tmp, 8868)  # type: ignore[arg-type]


def test_url_with_nul_is_rejected() -> None:
    buf, tmp = _buffers(b"abc")
    with pytest.raises(QRError, match="NUL"):
        drm_panic_qr_generate("https://e.org/\x00?z=", buf, 3, 4096, tmp, 8868)


def test_raw_mode_buffers_swap_roles() -> None:
    data = b"[    1.000000] Kernel panic - not syncing: test\n" * 20
    buf, tmp = _buffers(data, data_cap=8868, tmp_cap=4096)
    width = drm_panic_qr_generate(None, buf, len(data), 8868, tmp, 4096)
    assert width > 0
    assert not any(buf[((width + 7) // 8) * width :])
