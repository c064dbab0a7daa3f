"""Tests for server.auth.qr: the rendered QR code decodes to the provisioning URI."""

import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest

from server.auth import qr, totp

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
URIS = [
    totp.provisioning_uri(SECRET, "alice", "Mirox"),
    totp.provisioning_uri(SECRET, "alice+x@example.com", "Mirox & Co"),
    totp.provisioning_uri("KGVV7V52PXIUVHHZ2RWW43AZ56I5U44P", "bob.o'neil@example.org", "Mirox"),
]


def _zbar(zbarimg: str, image: Path) -> str:
    """Decode the single QR code in `image` with zbarimg."""
    result = subprocess.run([zbarimg, "--raw", "-q", str(image)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, f"zbarimg found no code (rc={result.returncode}): {result.stderr}"
    return result.stdout.removesuffix("\n")


def _write_png(path: Path, dark: list[list[bool]], scale: int) -> None:
    """Write a black-on-white 8-bit greyscale PNG, `scale` pixels per cell."""
    rows = []
    for cells in dark:
        line = bytes(0 if cell else 255 for cell in cells for _ in range(scale))
        rows.extend([b"\x00" + line] * scale)
    height, width = len(rows), len(rows[0]) - 1

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def _rasterize(svg: str) -> list[list[bool]]:
    """Rasterize segno's inline SVG (horizontal 1-unit strokes inside a scaled group) to cells."""
    root = ET.fromstring(svg)
    width = float(root.attrib["viewBox"].split()[2])
    group = root.find("g")
    assert group is not None
    match = re.fullmatch(r"scale\(([\d.]+)\)", group.attrib.get("transform", "scale(1)"))
    assert match is not None
    size = round(width / float(match.group(1)))
    grid = [[False] * size for _ in range(size)]
    strokes = [p for p in group.iter("path") if p.attrib.get("stroke") == "#111"]
    assert len(strokes) == 1
    x = y = 0.0
    for command, args in re.findall(r"([A-Za-z])([^A-Za-z]*)", strokes[0].attrib["d"]):
        numbers = [float(n) for n in args.replace(",", " ").split()]
        if command in "Mm":
            x, y = (numbers[0], numbers[1]) if command == "M" else (x + numbers[0], y + numbers[1])
        elif command in "Hh":
            end = numbers[0] if command == "H" else x + numbers[0]
            row = int(y)  # a 1-unit stroke at y = n + 0.5 covers row n
            for col in range(round(min(x, end)), round(max(x, end))):
                grid[row][col] = True
            x = end
        else:
            pytest.fail(f"unexpected SVG path command {command!r}")
    return grid


def test_svg_shape() -> None:
    """The SVG is inline (no size, class "qr"), has an escaped title and segno's colours."""
    svg = qr.qr_svg(URIS[0], "Scan <me> & go")
    assert svg.startswith('<svg viewBox="0 0 ')
    opening = svg[: svg.index(">") + 1]
    assert 'class="qr"' in opening
    assert "width=" not in opening and "height=" not in opening
    assert "<title>Scan &lt;me&gt; &amp; go</title>" in svg
    assert 'stroke="#111"' in svg and 'fill="#fff"' in svg
    assert "<script" not in svg and "xlink" not in svg


def test_svg_quiet_zone_and_scale() -> None:
    """The code has a 4-module border and is drawn at scale 6."""
    svg = qr.qr_svg(URIS[0], "QR")
    code = qr.qr_code(URIS[0])
    side = (code.symbol_size(scale=1, border=0)[0] + 8) * 6
    assert f'viewBox="0 0 {side} {side}"' in svg
    assert 'transform="scale(6)"' in svg


def test_qr_code_is_regular_qr_with_medium_error_correction() -> None:
    """Authenticator apps need a regular (not micro) QR code; error level is M or better."""
    code = qr.qr_code(URIS[0])
    assert not code.is_micro
    assert code.error in {"M", "Q", "H"}


@pytest.mark.parametrize("uri", URIS, ids=["plain", "special", "quote"])
def test_returned_svg_decodes_to_uri(zbarimg: str, tmp_path: Path, uri: str) -> None:
    """The SVG string returned by qr_svg, rasterized, decodes with zbarimg to the exact URI."""
    image = tmp_path / "qr.png"
    _write_png(image, _rasterize(qr.qr_svg(uri, "Scan")), scale=8)
    assert _zbar(zbarimg, image) == uri


@pytest.mark.parametrize("uri", URIS, ids=["plain", "special", "quote"])
def test_segno_png_decodes_to_uri(zbarimg: str, tmp_path: Path, uri: str) -> None:
    """segno's own PNG of the same QR code decodes to the exact URI."""
    image = tmp_path / "qr.png"
    qr.qr_code(uri).save(image, kind="png", scale=8, border=4)
    assert _zbar(zbarimg, image) == uri


def test_rasterizer_matches_segno_matrix() -> None:
    """The test rasterizer reproduces segno's module matrix (so the SVG test checks the SVG)."""
    code = qr.qr_code(URIS[1])
    expected = [[bool(cell) for cell in row] for row in code.matrix_iter(scale=1, border=4)]
    assert _rasterize(qr.qr_svg(URIS[1], "Scan")) == expected


@pytest.mark.skipif(shutil.which("rsvg-convert") is None, reason="rsvg-convert (librsvg2-bin) not installed")
@pytest.mark.parametrize("uri", URIS, ids=["plain", "special", "quote"])
def test_svg_rendered_by_librsvg_decodes_to_uri(zbarimg: str, tmp_path: Path, uri: str) -> None:
    """The SVG rendered by librsvg decodes to the exact URI."""
    source, image = tmp_path / "qr.svg", tmp_path / "qr.png"
    svg = qr.qr_svg(uri, "Scan").replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    source.write_text(svg)
    subprocess.run(["rsvg-convert", "-w", "400", "-o", str(image), str(source)], check=True, timeout=30)
    assert _zbar(zbarimg, image) == uri
