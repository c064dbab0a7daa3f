"""QR codes as inline SVG."""

import segno


def qr_code(uri: str) -> segno.QRCode:
    """Build the (never micro) QR code for `uri` with medium error correction."""
    return segno.make_qr(uri, error="m")


def qr_svg(uri: str, title: str) -> str:
    """Return an inline SVG of the QR code for `uri`, sized by CSS (class "qr")."""
    return qr_code(uri).svg_inline(
        scale=6,
        border=4,
        dark="#111",
        light="#fff",
        title=title,
        omitsize=True,
        svgclass="qr",
    )
