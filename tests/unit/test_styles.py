"""Style packs: the shipped packs, prompts that read well, recorded seeds, clear errors."""

from __future__ import annotations

import pytest

from headpix.styles import PlannedRender, load_style_packs, plan_renders, style_pack_version

ALL = ["corporate", "studio", "casual", "outdoor"]


def _plan(
    styles: list[str], preferences: dict[str, object], images: int = 2, seed: int = 10
) -> list[PlannedRender]:
    return plan_renders(
        styles,
        preferences,
        identity_token="sks",
        class_word="woman",
        images_per_style=images,
        base_seed=seed,
    )


def test_packs_are_versioned_and_complete() -> None:
    packs = load_style_packs()
    assert style_pack_version() == 1 and set(ALL) <= set(packs)
    assert all(p.negative_prompt and p.images > 0 for p in packs.values())


def test_prompts_read_well_without_preferences() -> None:
    for render in _plan(ALL, {}):
        assert "sks woman" in render.prompt
        assert "{" not in render.prompt and "None" not in render.prompt
        assert ", ," not in render.prompt and "  " not in render.prompt


def test_preferences_fill_the_template() -> None:
    preferences: dict[str, object] = {
        "attire": "navy blazer",
        "background": "city skyline",
        "hair": "short curly",
        "glasses": True,
        "age_range": "30-40",
        "expression": "serious",
    }
    prompt = _plan(["corporate"], preferences, images=1)[0].prompt
    for phrase in (
        "navy blazer",
        "city skyline",
        "short curly hair",
        "with glasses",
        "aged 30-40",
        "serious",
    ):
        assert phrase in prompt
    assert "glasses" not in _plan(["corporate"], {"glasses": False}, images=1)[0].prompt


def test_preferences_cannot_break_the_template() -> None:
    prompt = _plan(["studio"], {"attire": "{subject}\n" + "x" * 500}, images=1)[0].prompt
    assert "{" not in prompt and "\n" not in prompt and "x" * 61 not in prompt


def test_seeds_are_deterministic_and_recorded() -> None:
    plan = _plan(["corporate", "outdoor"], {}, images=3, seed=100)
    assert [r.seed for r in plan] == list(range(100, 106))
    assert [r.style for r in plan] == ["corporate"] * 3 + ["outdoor"] * 3
    assert plan == _plan(["corporate", "outdoor"], {}, images=3, seed=100)


def test_pack_default_count_when_not_given() -> None:
    assert len(_plan(["casual"], {}, images=0)) == load_style_packs()["casual"].images


def test_unknown_style_names_the_known_ones() -> None:
    with pytest.raises(
        ValueError, match="unknown style glamour; known styles: casual, corporate, outdoor, studio"
    ):
        _plan(["glamour"], {})
