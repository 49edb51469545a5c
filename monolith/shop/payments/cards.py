"""Card numbers: normalisation and the Luhn checksum (no network, no state)."""

from __future__ import annotations

MIN_DIGITS = 12
MAX_DIGITS = 19


def card_digits(number: str) -> str:
    """The number without the spaces and dashes people type between digit groups."""
    return number.replace(" ", "").replace("-", "")


def card_valid(number: str) -> bool:
    """True when ``number`` is 12 to 19 digits (spaces/dashes allowed) and passes Luhn."""
    digits = card_digits(number)
    if not (MIN_DIGITS <= len(digits) <= MAX_DIGITS) or not digits.isascii():
        return False
    if not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0
