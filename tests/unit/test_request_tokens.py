"""Confirmation tokens are typed or pasted on a command line: they must never look like an option."""

from headpix.app.cli import build_parser
from headpix.links import new_token


def test_tokens_never_start_with_a_dash():
    # urlsafe base64 starts with "-" once in 64 tokens; 2000 draws would all but surely show it
    assert not [t for t in (new_token() for _ in range(2000)) if t.startswith("-")]


def test_a_token_parses_as_the_value_of_token():
    token = new_token()
    args = build_parser().parse_args(["privacy", "confirm", "r-1", "--token", token])
    assert args.token == token
