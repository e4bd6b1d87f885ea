from hypothesis import given
from hypothesis import strategies as st

from dispatch.masking import approx_coordinate, mask_name, mask_phone, masked_items, sensitive_summary


def test_latin_and_cjk_names():
    assert mask_name("Zhang San") == "Z**"
    assert mask_name("zoë smith") == "Z**"
    assert mask_name("张三") == "张**"
    assert mask_name("  李小龍 ") == "李**"
    assert mask_name("") == "Customer"
    assert mask_name("  ") == "Customer"
    assert mask_name("-- O'Brien") == "O**"


def test_international_phones():
    assert mask_phone("+44 20 7946 0958") == "****0958"
    assert mask_phone("+86 138-0013-8000") == "****8000"
    assert mask_phone("(555) 012-5678") == "****5678"
    assert mask_phone("+1 (415) 555-2671") == "****2671"
    assert mask_phone("12345") == "****"
    assert mask_phone("") == "****"


@given(st.text(min_size=1, max_size=60))
def test_masked_name_never_carries_more_than_one_character_of_the_name(name):
    masked = mask_name(name)
    assert masked == "Customer" or (len(masked) == 3 and masked.endswith("**"))


@given(st.lists(st.integers(0, 9), min_size=7, max_size=15), st.sampled_from(["", "+", "00"]),
       st.sampled_from([" ", "-", "", "."]))
def test_masked_phone_keeps_only_the_last_four_digits(digits, prefix, sep):
    phone = prefix + sep.join(str(d) for d in digits)
    masked = mask_phone(phone)
    assert masked == "****" + "".join(str(d) for d in digits[-4:])


def test_sensitive_summary_and_approx():
    assert sensitive_summary(0) == ""
    assert sensitive_summary(1) == "1 pharmacy item"
    assert sensitive_summary(3) == "3 pharmacy items"
    assert approx_coordinate(51.50331234) == 51.5


class _Item:
    def __init__(self, name: str, qty: int, sensitive: bool):
        self.name, self.qty, self.sensitive = name, qty, sensitive


@given(st.lists(st.tuples(st.text(min_size=1, max_size=8), st.integers(1, 999), st.booleans()), max_size=12),
       st.booleans())
def test_masked_items_never_name_a_sensitive_item_and_count_every_one(rows, with_names):
    items = [_Item(f"item-{i}-{name}", qty, sensitive) for i, (name, qty, sensitive) in enumerate(rows)]
    seen = masked_items(items, with_names=with_names)
    named = {line.name for line in seen.lines}
    assert not named & {i.name for i in items if i.sensitive}
    assert named == ({i.name for i in items if not i.sensitive} if with_names else set())
    assert seen.count == sum(i.qty for i in items)
    assert seen.sensitive_count == sum(i.qty for i in items if i.sensitive)
    assert seen.sensitive_summary == sensitive_summary(seen.sensitive_count)
