"""Short human-readable device descriptions from User-Agent strings."""

from user_agents import parse

UNKNOWN = "Unknown device"
MAX_LENGTH = 120
_MAX_PARSE = 1024  # bound the regex work on hostile headers

_BROWSER_NAMES = {
    "Mobile Safari": "Safari",
    "Mobile Safari UI/WKWebView": "Safari",
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Chrome Mobile WebView": "Chrome WebView",
    "Firefox Mobile": "Firefox",
    "Firefox iOS": "Firefox",
    "Edge Mobile": "Edge",
}
_OS_NAMES = {"Mac OS X": "macOS"}
# OS versions worth showing (macOS and Chrome OS versions in User-Agents are frozen or meaningless).
_OS_WITH_VERSION = {"Windows", "iOS", "Android"}
# Safari's version follows iOS, which is shown already.
_BROWSERS_WITHOUT_VERSION = {"Mobile Safari"}


def summarize_user_agent(ua: str | None) -> str:
    """Return e.g. "Chrome 120 on Windows 10" or "Safari on iPhone (iOS 17)"; "Unknown device" if unknown."""
    if not ua or not ua.strip():
        return UNKNOWN
    parsed = parse(ua[:_MAX_PARSE])
    browser = _browser(parsed.browser.family, parsed.browser.version)
    system = _operating_system(parsed.os.family, parsed.os.version)
    device = parsed.device
    if (parsed.is_mobile or parsed.is_tablet) and _is_named_device(device.family, device.brand):
        system = f"{device.family} ({system})" if system else device.family
    summary = f"{browser} on {system}" if browser and system else browser or system or UNKNOWN
    return _clip("".join(ch for ch in summary if ch.isprintable()))


def _browser(family: str, version: tuple[int | str, ...]) -> str:
    if family == "Other":
        return ""
    name = _BROWSER_NAMES.get(family, family)
    if version and family not in _BROWSERS_WITHOUT_VERSION:
        return f"{name} {version[0]}"
    return name


def _operating_system(family: str, version: tuple[int | str, ...]) -> str:
    if family == "Other":
        return ""
    name = _OS_NAMES.get(family, family)
    if version and family in _OS_WITH_VERSION:
        return f"{name} {version[0]}"
    return name


def _is_named_device(family: str, brand: str | None) -> bool:
    return family != "Other" and brand is not None and not brand.startswith("Generic") and brand != "Spider"


def _clip(text: str) -> str:
    return text if len(text) <= MAX_LENGTH else text[: MAX_LENGTH - 1] + "…"
