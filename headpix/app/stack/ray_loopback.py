"""`ray start` for the local stack, with every node pinned to 127.0.0.1 (see ray_cluster.runtime)."""

from __future__ import annotations

import sys

from ray_cluster.runtime import pin_loopback


def main() -> None:
    pin_loopback()
    from ray.scripts.scripts import main as ray_main

    sys.argv[0] = "ray"
    sys.exit(ray_main())


if __name__ == "__main__":
    main()
