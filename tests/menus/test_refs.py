"""Case references: a mistyped reference is refused rather than pointing at another child's case."""

from __future__ import annotations

from menus.refs import (
    MAX_LENGTH,
    MIN_LENGTH,
    check_digit,
    new_reference,
    parse_reference,
)


def test_new_references_are_valid_digits_of_allowed_length():
    for _ in range(200):
        ref = new_reference()
        assert ref.isdigit() and MIN_LENGTH <= len(ref) <= MAX_LENGTH and parse_reference(ref) == ref


def test_every_single_digit_error_and_adjacent_swap_is_caught():
    ref = "48271635" + check_digit("48271635")
    for i in range(len(ref)):
        for digit in "0123456789":
            if digit != ref[i]:
                assert parse_reference(ref[:i] + digit + ref[i + 1 :]) is None
    for i in range(len(ref) - 1):
        if ref[i] != ref[i + 1]:
            assert parse_reference(ref[:i] + ref[i + 1] + ref[i] + ref[i + 2 :]) is None


def test_references_typed_in_other_scripts_and_with_spaces():
    ref = "48271635" + check_digit("48271635")
    devanagari = ref.translate(str.maketrans("0123456789", "०१२३४५६७८९"))
    assert parse_reference(devanagari) == ref
    assert parse_reference(f" {ref[:4]} {ref[4:]} ") == ref
    assert parse_reference("12345") is None and parse_reference("abc") is None and parse_reference("") is None
