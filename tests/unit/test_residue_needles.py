"""Residue search: unique identifiers are found anywhere; shared ones never accuse other customers."""

from headpix.privacy.verify import HashedNeedles, token_hashes

SECRET = b"k" * 32


def hashed(values):
    kept = token_hashes(SECRET, values)
    return HashedNeedles(SECRET, set(kept["hashes"]), [tuple(e) for e in kept["emails"]])


def test_hashed_needles_find_identifiers_flush_against_other_bytes():
    customer_id = "0b6f2a4e-8c1d-4f3a-9e2b-7d5c1a0f9e33"
    photo = "ab" * 32
    needles = hashed(["Ada@example.com", customer_id, photo])
    assert needles.found_in_text("Hello, ada@example.com wrote")
    # how SQLite lays out a row: values back to back, no separators
    assert needles.found_in_bytes(b"\x01Ada Lovelaceada@example.comwoman")
    assert needles.found_in_bytes(b"x" + customer_id.encode() + b"Bench")
    assert needles.found_in_bytes(b"IMG_1.jpg" + photo.encode() + b"accepted")


def test_hashed_needles_do_not_accuse_ordinary_words_or_neighbours():
    needles = hashed(["ada@example.com"])
    assert not needles.found_in_bytes(b"ada example com smith hello")  # a vocabulary file
    assert not needles.found_in_bytes(b"grace@example.com")
    # In a column, values are whole: another customer's address that contains this one is not
    # residue. (In raw files values are flush, so there it would be reported; see docs.)
    assert not needles.found_in_text("lada@example.com")
