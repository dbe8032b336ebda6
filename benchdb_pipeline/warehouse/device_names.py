"""One spelling per device model, so that one machine is one platform.

The same accelerator reaches us as ``A100``, ``NVIDIA A100`` and ``nvidia a100``; the same CPU
as ``i9-12900K``, ``Intel Core i9-12900K`` and py-cpuinfo's ``12th Gen Intel(R) Core(TM)
i9-12900K``. The device name is part of the platform key, so each spelling made a platform
of its own and split one machine's series. Names are brought to the vendor's product name:
trademark marks, CPU generation prefixes, clock and core-count suffixes dropped, the vendor
(and GeForce for consumer NVIDIA cards) prefixed where the model alone implies it. Anything
that tells devices apart stays: memory and form-factor suffixes (``A100-SXM4-80GB``), and
every name no rule knows is only trimmed.
"""

from __future__ import annotations

import functools
import re

_SPACES = re.compile(r"\s+")
# Marks and filler py-cpuinfo, lscpu and the drivers put around the product name.
_NOISE = (
    re.compile(r"\((?:R|TM|tm|r)\)|®|™"),
    re.compile(r"^\d{1,2}(?:st|nd|rd|th) Gen\s+", re.I),  # "12th Gen Intel Core i9-12900K"
    re.compile(r"\s+CPU\s+@\s+[\d.]+\s*GHz$", re.I),  # "... i9-12900K CPU @ 3.20GHz"
    re.compile(r"\s+@\s+[\d.]+\s*GHz$", re.I),
    re.compile(r"\s+\d+-Core Processor$", re.I),  # "AMD Ryzen 9 5950X 16-Core Processor"
    re.compile(r"\s+(?:CPU|Processor)$", re.I),
)
_GEFORCE = r"(?:RTX|GTX)\s*\d0[5-9]0(?:\s*Ti)?(?:\s*SUPER)?"  # RTX 3090, GTX 1080 Ti; not RTX 6000
_NVIDIA_MODEL = (
    r"Tesla|GeForce|Quadro|TITAN|Jetson|DGX|RTX|GTX|GH200|GB200|[ABHLV]100|H200|B200|L40S?|L4|T4|A10G?|"
    r"A[2-6]0{1,2}0?|P100|P40|K80"
)
# (pattern on the cleaned name, replacement): first match wins, applied once.
_VENDORS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"^(?:NVIDIA\s+)?(?:GeForce\s+)?({_GEFORCE})\b", re.I), r"NVIDIA GeForce \1"),
    (re.compile(r"^(?:NVIDIA\s+)?Tesla\s+", re.I), "NVIDIA "),  # "Tesla T4" is sold as NVIDIA T4
    (re.compile(rf"^(?:NVIDIA\s+)?(?=(?:{_NVIDIA_MODEL})\b)", re.I), "NVIDIA "),
    (re.compile(r"^(?:AMD\s+)?(?:Instinct\s+)?(MI\d{2,3}[A-Z]?)\b", re.I), r"AMD Instinct \1"),
    (re.compile(r"^(?:AMD\s+)?(?=(?:Radeon|Ryzen|EPYC|Threadripper|Instinct)\b)", re.I), "AMD "),
    (re.compile(r"^(?:Intel\s+)?(?:Core\s+)?(?=i[3579]-\d{4,5})", re.I), "Intel Core "),
    (re.compile(r"^(?:Intel\s+)?(?=(?:Core|Xeon|Celeron|Pentium|Atom|Arc|Gaudi\d?)\b)", re.I), "Intel "),
    (re.compile(r"^(?:Apple\s+)?(?=M[1-9](?:\s+(?:Pro|Max|Ultra))?$)", re.I), "Apple "),
)
# Vendor and family words in the vendor's own case.
_CASE = {
    word.lower(): word
    for word in (
        "NVIDIA GeForce Quadro TITAN Jetson RTX GTX AMD Instinct Radeon Ryzen EPYC Threadripper "
        "Intel Core Xeon Celeron Pentium Atom Arc Apple Pro Max Ultra Ti SUPER"
    ).split()
}
_WORD = re.compile(r"[A-Za-z]+")
# Accelerator model numbers: a100, h100, l40s, mi300x (not Intel's i9-12900K).
_ACCELERATOR_MODEL = re.compile(r"^(?:NVIDIA|AMD Instinct) .*", re.I)
_MODEL_NUMBER = re.compile(r"\b[a-z]{1,2}\d+[a-z]?\b", re.I)


def _vendor_case(name: str) -> str:
    name = _WORD.sub(lambda m: _CASE.get(m.group(0).lower(), m.group(0)), name)
    if _ACCELERATOR_MODEL.match(name):
        name = _MODEL_NUMBER.sub(lambda m: m.group(0).upper(), name)
    return name


@functools.lru_cache(maxsize=4096)
def norm_device_name(value: str) -> str:
    """The canonical spelling of a CPU or accelerator model name (see the module)."""
    name = _SPACES.sub(" ", value.strip())
    for pattern in _NOISE:
        name = pattern.sub("", name).strip()
    name = _SPACES.sub(" ", name)
    for pattern, replacement in _VENDORS:
        renamed, found = pattern.subn(replacement, name, count=1)
        if found:
            return _vendor_case(_SPACES.sub(" ", renamed))
    return name
