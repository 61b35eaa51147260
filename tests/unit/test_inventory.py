import re

from headpix import inventory
from headpix.storage import Keys
from schemas.models import Base
from schemas.privacy import KeysBase


def test_every_column_is_in_the_inventory():
    missing = []
    for metadata in (Base.metadata, KeysBase.metadata):
        for table in metadata.tables.values():
            declared = inventory.COLUMNS.get(table.name, {})
            missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in declared]
    assert not missing, f"columns without category/retention/erasure: {missing}"


def test_inventory_names_no_column_that_does_not_exist():
    real = {
        t.name: {c.name for c in t.columns}
        for m in (Base.metadata, KeysBase.metadata)
        for t in m.tables.values()
    }
    real["alembic_version"] = {"version_num"}
    stale = [f"{t}.{c}" for t, cols in inventory.COLUMNS.items() for c in cols if c not in real.get(t, set())]
    assert not stale


def test_every_storage_prefix_is_in_the_inventory():
    samples = [
        Keys.original("c", "s", "p"),
        Keys.crop("c", "s", "p"),
        Keys.identity_model("c", "s", "m"),
        Keys.reference_template("c", "s", "m"),
        Keys.headshot("c", "s", "h"),
        Keys.customer("c") + "exports/e.zip",
    ]
    patterns = [
        re.escape(t).replace(r"\{customer_id\}", "[^/]+").replace(r"\{shoot_id\}", "[^/]+")
        for t in inventory.PREFIXES
    ]
    for key in samples:
        assert any(re.match(p, key) for p in patterns), f"{key} has no inventory prefix"
        assert inventory.category_of_prefix(key) in inventory.CATEGORIES


def test_categories_used_are_declared():
    used = {i.category for t in inventory.COLUMNS.values() for i in t.values()} | {
        i.category for i in inventory.PREFIXES.values()
    }
    assert used - {None} <= set(inventory.CATEGORIES)


def _matches(template: str, key: str) -> bool:
    pattern = re.escape(template)
    for name in ("customer_id", "shoot_id", "model_id"):
        pattern = pattern.replace(rf"\{{{name}\}}", "[^/]+")
    return re.fullmatch(pattern, key) is not None


def test_the_face_template_is_declared_on_its_own_beside_the_identity_model():
    template = Keys.reference_template("c", "s", "m")
    weights = Keys.identity_model("c", "s", "m")
    declared = [t for t in inventory.IDENTITY_OBJECTS if _matches(t, template)]
    assert len(declared) == 1, "the stored face template has no inventory entry of its own"
    assert declared[0] in inventory.BIOMETRIC_OBJECTS
    model = [t for t in inventory.IDENTITY_OBJECTS if _matches(t, weights)]
    assert len(model) == 1 and model[0] not in inventory.BIOMETRIC_OBJECTS
    prefix = "customers/{customer_id}/shoots/{shoot_id}/identity/"
    for key in declared + model:  # under the identity prefix: same category, retention, erasure
        assert key.startswith(prefix)
        assert inventory.IDENTITY_OBJECTS[key].category == inventory.PREFIXES[prefix].category
    assert "identity_model_days" in inventory.IDENTITY_OBJECTS[declared[0]].retention
