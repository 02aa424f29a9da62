"""Irreducible-representation lists ("irreps") of O(3), in e3nn's notation.

An irreps list is a sequence of blocks ``(mul, l, p)``: ``mul`` copies (channels) of the
``2l + 1``-dimensional irrep of degree ``l`` and parity ``p`` (+1 even ``"e"``, -1 odd ``"o"``).
Feature vectors concatenate the blocks; inside a block the layout is e3nn's ``(mul, 2l + 1)``
(channel-major), so ``x[..., offset + u * (2l + 1) + m]`` is channel ``u``, component ``m``.

Accepted inputs: an :class:`Irreps`, a string ``"8x0e + 8x1o + 4x2e"`` (``"1e"`` means
``1x1e``), or a sequence of tuples ``(mul, l)`` (parity even, SPHNet's convention: its
features are ``0e + 1e + ... + Le``), ``(mul, l, p)`` with ``p`` in ``{1, -1, "e", "o"}``, or
``(mul, (l, p))`` (e3nn's tuple form).
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from .._validation import error

__all__ = ["Irreps"]

_BLOCK = re.compile(r"^\s*(?:(\d+)\s*x\s*)?(\d+)\s*([eo])\s*$")


class Irreps:
    """Immutable list of ``(mul, l, p)`` blocks.

    Parameters
    ----------
    spec : str, Irreps or sequence of tuples
        See the module docstring.
    name : str, default "irreps"
        Parameter name used in error messages.

    Examples
    --------
    >>> Irreps("2x0e + 1x1o").dim
    5
    >>> Irreps([(4, 0), (4, 2)])
    Irreps('4x0e+4x2e')
    """

    __slots__ = ("blocks",)

    def __init__(self, spec: Any, *, name: str = "irreps"):
        if isinstance(spec, Irreps):
            self.blocks = spec.blocks
            return
        blocks: list[tuple[int, int, int]] = []
        if isinstance(spec, str):
            parts = [s for s in spec.split("+")]
            if not spec.strip():
                raise error(name, "a non-empty irreps string like '8x0e+8x1o'", spec)
            for part in parts:
                match = _BLOCK.match(part)
                if match is None:
                    raise error(name, "an irreps string like '8x0e+8x1o' (mul x l parity)",
                                spec)
                mul = int(match.group(1)) if match.group(1) is not None else 1
                blocks.append((mul, int(match.group(2)), 1 if match.group(3) == "e" else -1))
        else:
            try:
                items = list(spec)
            except TypeError:
                raise error(name, "an irreps string or a sequence of (mul, l[, p]) tuples",
                            spec, kind=TypeError) from None
            for item in items:
                blocks.append(_parse_tuple(item, name))
        if not blocks:
            raise error(name, "a non-empty irreps list", spec)
        for mul, l, p in blocks:
            if mul < 1 or l < 0:
                raise error(name, "blocks with mul >= 1 and l >= 0", spec)
        self.blocks = tuple(blocks)

    def __iter__(self) -> Iterator[tuple[int, int, int]]:
        return iter(self.blocks)

    def __len__(self) -> int:
        return len(self.blocks)

    def __getitem__(self, i: int) -> tuple[int, int, int]:
        return self.blocks[i]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Irreps) and self.blocks == other.blocks

    def __hash__(self) -> int:
        return hash(self.blocks)

    @property
    def dim(self) -> int:
        """Total dimension ``sum(mul * (2l + 1))``."""
        return sum(mul * (2 * l + 1) for mul, l, _ in self.blocks)

    @property
    def lmax(self) -> int:
        return max(l for _, l, _ in self.blocks)

    def offsets(self) -> list[int]:
        """Start index of every block in the concatenated feature vector."""
        out, pos = [], 0
        for mul, l, _ in self.blocks:
            out.append(pos)
            pos += mul * (2 * l + 1)
        return out

    def __str__(self) -> str:
        return "+".join(f"{mul}x{l}{'e' if p == 1 else 'o'}" for mul, l, p in self.blocks)

    def __repr__(self) -> str:
        return f"Irreps('{self}')"

    @staticmethod
    def spherical(lmax: int, mul: int = 1, parity: str = "e") -> "Irreps":
        """``mul x (0 + 1 + ... + lmax)`` with all-even (``"e"``, SPHNet) or ``"sh"`` parity."""
        if parity == "sh":
            return Irreps([(mul, l, (-1) ** l) for l in range(lmax + 1)])
        return Irreps([(mul, l, 1 if parity == "e" else -1) for l in range(lmax + 1)])


def _parse_tuple(item: Any, name: str) -> tuple[int, int, int]:
    try:
        if len(item) == 2 and isinstance(item[1], (tuple, list)):
            mul, (l, p) = item
        elif len(item) == 2:
            (mul, l), p = item, 1
        elif len(item) == 3:
            mul, l, p = item
        else:
            raise ValueError
    except (TypeError, ValueError):
        raise error(name, "a sequence of (mul, l), (mul, l, p) or (mul, (l, p)) tuples",
                    item, kind=TypeError) from None
    if p in ("e", "o"):
        p = 1 if p == "e" else -1
    for v in (mul, l):
        if isinstance(v, bool) or not isinstance(v, int) and not hasattr(v, "__index__"):
            raise error(name, "blocks with integer mul and l", item, kind=TypeError)
    if p not in (1, -1):
        raise error(name, "blocks with parity 1, -1, 'e' or 'o'", item)
    return int(mul), int(l), int(p)
