"""Check-digit algorithms used by the detectors: a number that passes one is rarely there by chance."""

from __future__ import annotations

# Each digit doubled, with the digits of the product summed: 5 -> 10 -> 1.
_LUHN_DOUBLED = str.maketrans("0123456789", "0246813579")


def luhn_valid(digits: str) -> bool:
    """Luhn (mod 10), used by payment cards, IMEIs and Swedish personal numbers. `digits`: only 0-9."""
    if not digits.isdigit() or not digits.isascii():
        return False
    # Summing the ASCII codes and subtracting 48 ("0") per digit is the fast way to add digits in Python.
    ascii_codes = (digits[-1::-2] + digits[-2::-2].translate(_LUHN_DOUBLED)).encode()
    return (sum(ascii_codes) - 48 * len(digits)) % 10 == 0


def luhn_digit(digits: str) -> str:
    """The check digit that makes `digits` + it pass `luhn_valid`."""
    for d in "0123456789":
        if luhn_valid(digits + d):
            return d
    raise ValueError("digits must be 0-9")


_LETTERS_AS_NUMBERS = {ord(ch): str(ord(ch) - 55) for ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def mod97(text: str) -> int:
    """ISO 7064 MOD 97-10 remainder of an alphanumeric string, letters counting A=10 .. Z=35."""
    number = text.upper().translate(_LETTERS_AS_NUMBERS)
    if not (number.isdigit() and number.isascii()):
        raise ValueError("mod97 takes letters A-Z and digits only")
    return int(number) % 97


def mod11_10_digit(digits: str) -> int:
    """ISO 7064 MOD 11,10 check digit (German tax identification number)."""
    product = 10
    for ch in digits:
        total = (ord(ch) - 48 + product) % 10 or 10
        product = total * 2 % 11
    check = 11 - product
    return 0 if check == 10 else check


def eleven_test(digits: str) -> bool:
    """Dutch "elfproef" for the citizen service number (BSN): weights 9..2 and -1 sum to a multiple of 11."""
    if len(digits) != 9 or not digits.isdigit() or digits == "000000000":
        return False
    total = sum((9 - i) * (ord(ch) - 48) for i, ch in enumerate(digits[:8])) - (ord(digits[8]) - 48)
    return total % 11 == 0
