import pytest

from headpix.storage import Keys, StorageError, open_store


@pytest.fixture(params=["file", "s3"])
def store(request, tmp_path):
    if request.param == "file":
        return open_store((tmp_path / "objects").as_uri())
    server = request.getfixturevalue("s3_server")
    bucket = server.versioned_bucket()
    options = {
        "version_aware": True,
        "key": "test",
        "secret": "test",
        "client_kwargs": {"endpoint_url": server.endpoint, "region_name": "us-east-1"},
    }
    return open_store(f"s3://{bucket}/prefix", options)


def test_round_trip_and_listing(store):
    key = Keys.original("c1", "s1", "p1")
    store.put(key, b"abc")
    assert store.get(key) == b"abc"
    assert store.exists(key)
    assert store.list(Keys.shoot("c1", "s1")) == [key]


def test_delete_removes_every_version(store):
    key = Keys.crop("c1", "s1", "p1")
    store.put(key, b"one")
    store.put(key, b"two")  # a second version on a versioned bucket
    removed = store.delete(key)
    assert removed >= 1
    assert not store.exists(key)
    assert store.version_count(Keys.shoot("c1", "s1")) == 0


def test_delete_current_removes_every_version_of_a_fence_without_listing(store):
    """Fences are put (once per raise) and deleted by version: every version goes, none is left."""
    key = "fences/0f3a"
    for _ in range(3):  # raised at confirmation, again by the run, again by a retry
        store.put(key, b"")
    store.put("fences/0f3ab", b"")  # a neighbour sharing the prefix stays
    assert store.delete_current(key) == (3 if store.versioned else 1)
    assert not store.exists(key) and store.version_count(key + "/") == 0
    assert store.list("fences") == ["fences/0f3ab"]
    if store.versioned:
        versions = store.fs.call_s3(
            "list_object_versions", Bucket=store.root.split("/")[0], Prefix="prefix/fences/"
        )
        assert [v["Key"] for v in versions.get("Versions", [])] == ["prefix/fences/0f3ab"]
        assert not versions.get("DeleteMarkers")
    assert store.delete_current(key) == 0


def test_delete_prefix_leaves_neighbours(store):
    store.put(Keys.original("c1", "s1", "a"), b"1")
    store.put(Keys.original("c1", "s1", "b"), b"2")
    store.put(Keys.original("c1", "s2", "c"), b"3")
    store.delete_prefix(Keys.shoot("c1", "s1") + "originals/")
    assert store.version_count(Keys.shoot("c1", "s1")) == 0
    assert store.get(Keys.original("c1", "s2", "c")) == b"3"


def test_missing_object_and_bad_keys_are_clear(store):
    with pytest.raises(StorageError, match="not found"):
        store.get("customers/none/x")
    with pytest.raises(StorageError, match="invalid storage key"):
        store.put("../escape", b"x")


def test_errors_never_name_the_customer(store):
    """Task and worker errors reach Prefect's state messages and logs: no customer id in them."""
    key = Keys.original("cust-4f1e9a", "s1", "p1")
    with pytest.raises(StorageError) as missing:
        store.get(key)
    assert "cust-4f1e9a" not in str(missing.value) and "s1/originals/p1" in str(missing.value)
    with pytest.raises(StorageError) as bad:
        store.put("customers/cust-4f1e9a/../x", b"")
    assert "cust-4f1e9a" not in str(bad.value)
