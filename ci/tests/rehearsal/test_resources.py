"""The evaluator's images outlive podman's pruning until the evaluator closes.

`ImageStore` models podman's image store as far as these rules go: `commit` makes an image
whose parent is the container's image, `rmi NAME` untags and removes an image left without a
tag or child, and then (without `--no-prune`) every untagged parent it leaves dangling.
That pruning is what removed the container's own image after publish (its pushed image) and
after a pulled-back image's removal, so the second publish of one container in a rehearsal
(cd's, after the publish function's) failed "image not known".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from acme_ci.rehearsal.evaluator.resources import RUN_TAG, Resources
from acme_ci.rehearsal.podman import Done, PodmanError

STAND_IN = "stand-in/python"


@dataclass
class ImageStore:
    parents: dict[str, str | None] = field(default_factory=lambda: {STAND_IN: None})
    tags: dict[str, str] = field(default_factory=lambda: {STAND_IN: STAND_IN})
    containers: dict[str, str] = field(default_factory=dict)

    def exists(self, image: str) -> bool:
        return image in self.parents

    def _resolve(self, name: str) -> str | None:
        return self.tags.get(name) or (name if name in self.parents else None)

    def _remove(self, name: str, prune: bool) -> None:
        image: str | None = name
        while image is not None:
            children = [c for c, p in self.parents.items() if p == image]
            in_use = image in self.containers.values()
            if image in self.tags.values() or children or in_use:
                return
            parent = self.parents.pop(image)
            image = parent if prune else None

    async def __call__(self, *args: str, stdin: bytes | None = None, check: bool = True) -> Done:
        done = self._run(list(args))
        if check and done.code != 0:
            raise PodmanError(f"podman {' '.join(args)}: {done.stderr}")
        return done

    def _run(self, args: list[str]) -> Done:
        match args:
            case ["create", "--name", name, *rest]:
                image = self._resolve(rest[-1])
                if image is None:
                    return Done(125, "", f"{rest[-1]}: image not known")
                self.containers[name] = image
                return Done(0, name, "")
            case ["commit", "--quiet", *rest]:
                while rest[0] == "--change":
                    rest = rest[2:]
                image = f"image-{len(self.parents)}"
                self.parents[image] = self.containers[rest[0]]
                for tag in rest[1:]:
                    self.tags[tag] = image
                return Done(0, image, "")
            case ["rm", *rest]:
                self.containers.pop(rest[-1], None)
                return Done(0, "", "")
            case ["tag", image, tag]:
                self.tags[tag] = image
                return Done(0, "", "")
            case ["rmi" | "image", *rest]:
                names = [a for a in rest if not a.startswith("-") and a != "rm"]
                failed = [n for n in names if self._rmi(n, "--no-prune" not in rest)]
                return Done(1 if failed else 0, "", f"{failed}: image not known")
        return Done(0, "", "")

    def _rmi(self, name: str, prune: bool) -> bool:
        """Untag `name` (or remove the image it names); True when it named nothing."""
        image = self._resolve(name)
        if image is None:
            return True
        for tag in [t for t, i in self.tags.items() if i == image and (t == name or name == i)]:
            del self.tags[tag]
        self._remove(image, prune)
        return False


async def committed(resources: Resources, image: str) -> str:
    container = await resources.create_container("fs", image, ["true"])
    try:
        return await resources.commit(container)
    finally:
        await resources.remove_container(container)


@pytest.mark.anyio
async def test_an_image_survives_the_removal_of_its_child_until_close() -> None:
    store = ImageStore()
    resources = Resources(store)
    own = await committed(resources, STAND_IN)  # a container's file system, remembered by id
    pushed = await committed(resources, own)  # publish's image of it
    await store("rmi", "--force", pushed)  # as a pulled-back image's removal does
    assert store.exists(own)
    # The same container published again finds its image.
    assert store.exists(await committed(resources, own))
    await resources.close()
    assert not store.exists(own)
    assert not [tag for tag in store.tags if tag.startswith(RUN_TAG)]
    assert store.exists(STAND_IN)


@pytest.mark.anyio
async def test_a_kept_layer_stays_after_close_and_its_parent_stays_under_it() -> None:
    store = ImageStore()
    resources = Resources(store)
    parent = await committed(resources, STAND_IN)
    layer = await committed(resources, parent)
    await store("tag", layer, "localhost/acme-rehearsal/layer:abc")
    scratch = await committed(resources, parent)
    await resources.close()
    assert store.exists(layer)
    assert store.exists(parent)
    assert not store.exists(scratch)
    assert not [tag for tag in store.tags if tag.startswith(RUN_TAG)]
