"""Resolved, validated specs: what every stage after the checker consumes.

A ``Profile`` has ``extends`` applied, sweeps expanded and every default filled, so two
profiles that mean the same thing are equal and share a ``spec_hash`` whatever their
names, comments, whitespace, argument or clause order. Nothing downstream re-reads text.

They are plain frozen dataclasses (keyword-only, copied with ``model_copy``): the checker
has validated every value by the time one is built, and a validating model library
costs more to import and define than checking a whole project of specs.
"""

from __future__ import annotations

import hashlib
import json
import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from echodsl.errors import NotFound
from echodsl.families import family_of
from echodsl.lang.schema import PROFILE_CLAUSE_ORDER

if TYPE_CHECKING:
    from echodsl.lang.settings import ProfileSettings, SetupSettings


class _Record:
    """What the three records share: an immutable copy with some fields replaced."""

    def model_copy(self, *, update: dict[str, Any] | None = None):
        return dataclasses.replace(self, **(update or {}))


@dataclass(frozen=True, kw_only=True)
class Variant(_Record):
    """One chosen variant and its resolved arguments, e.g. ``frames(k = 5, select = fov(...))``.

    Argument values are ``int``, ``float``, ``bool``, ``str`` (strings and bare choice
    names), ``tuple[int, int]`` (sizes such as ``8x8``) or a nested ``Variant``.
    """

    variant: str
    args: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "args", dict(self.args))  # never shares the caller's dict

    def __getitem__(self, name: str) -> Any:
        return self.args[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.args.get(name, default)

    def to_json(self) -> dict[str, Any]:
        return {"variant": self.variant, "args": {k: _json_value(v) for k, v in self.args.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Variant":
        return cls(variant=data["variant"], args={k: _from_json_value(v) for k, v in data.get("args", {}).items()})


def _json_value(v: Any) -> Any:
    if isinstance(v, Variant):
        return v.to_json()
    if isinstance(v, tuple):
        return list(v)
    return v


def _from_json_value(v: Any) -> Any:
    """The inverse of ``_json_value``: JSON lists are sizes (tuples), objects are variants."""
    if isinstance(v, dict) and "variant" in v:
        return Variant.from_json(v)
    if isinstance(v, list):
        return tuple(v)
    return v


def canonical_json(data: Any) -> str:
    """The one serialisation that hashes are taken over: sorted keys, no whitespace."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_hex(data: Any) -> str:
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


@dataclass(frozen=True, kw_only=True)
class Profile(_Record):
    """A fully resolved memory design: five clauses, nothing implicit."""

    name: str  # sweep members are named like `ctx[storage.k=5]`
    storage: Variant
    compression: Variant
    readout: Variant
    recurrence: Variant
    action: Variant
    # for sweep members: the swept argument paths and this member's values
    sweep: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sweep", dict(self.sweep))

    def clauses(self) -> dict[str, Variant]:
        return {c: getattr(self, c) for c in PROFILE_CLAUSE_ORDER}

    @cached_property
    def settings(self) -> ProfileSettings:
        """The five clauses as typed settings (``settings.storage.k``): what lowering reads."""
        from echodsl.lang.settings import profile_settings  # here: validating never needs settings

        return profile_settings(self.clauses())

    def canonical(self) -> dict[str, Any]:
        """The resolved design without its name: the input of ``spec_hash``."""
        return {c: v.to_json() for c, v in self.clauses().items()}

    @property
    def spec_hash(self) -> str:
        return sha256_hex(self.canonical())

    @property
    def family(self) -> str:
        """The study's family of this design: i2v, context, compression, spatial or state."""
        return family_of(self.storage.variant).name(self)

    @classmethod
    def from_canonical(cls, name: str, canonical: dict[str, Any]) -> "Profile":
        return cls(name=name, **{c: Variant.from_json(canonical[c]) for c in PROFILE_CLAUSE_ORDER})

    def to_json(self) -> dict[str, Any]:
        """The whole profile as JSON: name, canonical clauses and sweep values."""
        return {"name": self.name, "canonical": self.canonical(),
                "sweep": {k: _json_value(v) for k, v in self.sweep.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Profile":
        """The inverse of :meth:`to_json`: an equal profile (same ``spec_hash``)."""
        profile = cls.from_canonical(data["name"], data["canonical"])
        return profile.model_copy(update={"sweep": {k: _from_json_value(v) for k, v in data.get("sweep", {}).items()}})


@dataclass(frozen=True, kw_only=True)
class Study(_Record):
    """A resolved study: the fixed setup shared by every run, and the designs it compares."""

    name: str
    backbone: Variant
    data: Variant
    train: Variant
    eval: tuple[Variant, ...]
    profiles: tuple[Profile, ...]
    seeds: tuple[int, ...]

    def setup(self) -> dict[str, Any]:
        """Everything but the designs: two runs are comparable only if this is equal."""
        return {
            "backbone": self.backbone.to_json(),
            "data": self.data.to_json(),
            "train": self.train.to_json(),
            "eval": [e.to_json() for e in self.eval],
        }

    @property
    def setup_hash(self) -> str:
        return sha256_hex(self.setup())

    @cached_property
    def settings(self) -> SetupSettings:
        """The setup as typed settings: backbone, data, recipe and evaluation plan."""
        from echodsl.lang.settings import setup_settings

        return setup_settings(self.backbone, self.data, self.train, self.eval)

    def canonical(self) -> dict[str, Any]:
        return {
            **self.setup(),
            "profiles": [{"name": p.name, "spec_hash": p.spec_hash} for p in self.profiles],
            "seeds": list(self.seeds),
        }

    def profile(self, name: str) -> Profile:
        """The study's profile called ``name``; ``NotFound`` (a KeyError) if it lists none."""
        for p in self.profiles:
            if p.name == name:
                return p
        raise NotFound("profile", name, [p.name for p in self.profiles])


@dataclass
class Checked:
    """What the checker resolved, shared with the study checks. Profiles are keyed by (member) name."""

    profiles: dict[str, Profile] = field(default_factory=dict)
    members: dict[str, tuple[str, ...]] = field(default_factory=dict)  # declared name -> member names
    studies: dict = field(default_factory=dict)
    root_names: tuple[str, ...] = ()  # names declared in the first file, in order
    failed: set[str] = field(default_factory=set)  # declarations with errors
