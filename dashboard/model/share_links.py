"""Share links: a spec as compact JSON, zlib-compressed, in URL-safe base64.

Decoding is bounded before it inflates: a link is refused by its length, then by
what it unpacks to, so a crafted link can never ask for more than a spec's size.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib

from dashboard.data import limits
from dashboard.model.spec import ModelSpec, SpecError


def spec_to_link_param(spec: ModelSpec) -> str:
    data = spec.to_dict()
    data.pop("description", None)  # keeps links short; presets carry their own
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def spec_from_link_param(param: str) -> ModelSpec:
    """Decode a share link's spec; SpecError if it is damaged, too large or not a spec."""
    if len(param) > limits.MAX_LINK_CHARS:
        raise SpecError(
            f"This link's model is {len(param):,} characters long; a share link holds at most "
            f"{limits.MAX_LINK_CHARS:,}, so ask for the link again or load a preset."
        )
    try:
        packed = base64.urlsafe_b64decode(param + "=" * (-len(param) % 4))
        inflater = zlib.decompressobj()
        # A spec is a few KB; one byte more than the limit is enough to refuse it.
        raw = inflater.decompress(packed, limits.MAX_SPEC_BYTES + 1)
        if len(raw) > limits.MAX_SPEC_BYTES:
            raise SpecError(
                f"This link's model unpacks to more than {limits.human_bytes(limits.MAX_SPEC_BYTES)} "
                "of settings, far more than any model CNN Lab builds; ask for the link again "
                "or load a preset."
            )
        if not inflater.eof:
            raise ValueError("incomplete")
    except (binascii.Error, ValueError, zlib.error) as exc:
        if isinstance(exc, SpecError):
            raise
        raise SpecError(
            "This link's model could not be read (it may have been cut off when copied); "
            "ask for the link again or load a preset."
        ) from None
    return ModelSpec.from_json(raw)
