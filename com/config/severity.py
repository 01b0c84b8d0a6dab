"""The severity model: categories, levels, recency, context factors, hot spot and KPI settings.

The one source of the model for every module: :func:`load_severity_model` (packaged
``com/config/severity.toml`` merged with ``COM_SEVERITY_CONFIG``), the one category spelling
rule (:func:`normalise_category`, :func:`match_category`, :func:`category_key`, with fuzzy typo
correction only as :class:`CategoryMatcher`'s option at upload) and the one sensitive set
(:func:`sensitive_categories`).
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from com.errors import ConfigError, ValidationError
from com.text.thai import clean_text, is_blank

__all__ = [
    "ALL_LEVEL_KINDS",
    "Category",
    "CategoryMatcher",
    "ContextFactor",
    "HotspotSettings",
    "KpiSettings",
    "Level",
    "LevelKind",
    "Recency",
    "SeverityModel",
    "alias_index",
    "category_key",
    "load_severity_model",
    "load_severity_tables",
    "match_category",
    "normalise_category",
    "sensitive_categories",
    "severity_model_of",
]


LevelKind = Literal["subdistrict", "district", "province", "h3"]
ALL_LEVEL_KINDS: tuple[LevelKind, ...] = ("subdistrict", "district", "province", "h3")


class Level(BaseModel):
    """A severity level's Thai and English words."""

    model_config = ConfigDict(extra="forbid")
    th: str
    en: str
    words: list[str] = Field(default_factory=list)


class Category(BaseModel):
    """An issue category (ประเด็นปัญหา) and its weight in the score."""

    model_config = ConfigDict(extra="forbid")
    key: str
    th: str
    en: str
    aliases: list[str] = Field(default_factory=list)
    weight: float = Field(gt=0, allow_inf_nan=False)
    sensitive: bool = False
    retention_days: int = Field(default=0, ge=0)
    retention_action: str | None = None


class Recency(BaseModel):
    """Exponential decay of a point's weight with its age."""

    model_config = ConfigDict(extra="forbid")
    half_life_days: float = Field(gt=0, allow_inf_nan=False)
    undated_factor: float = Field(ge=0, le=1)


class ContextFactor(BaseModel):
    """A context factor: distance bands from a feature set and their multipliers."""

    model_config = ConfigDict(extra="forbid")
    key: str
    th: str
    en: str
    source: str
    bands_m: list[float]
    multipliers: list[float]
    weight: float = Field(default=1.0, ge=0, allow_inf_nan=False)
    levels: list[LevelKind] = Field(default_factory=lambda: list(ALL_LEVEL_KINDS))

    @model_validator(mode="after")
    def _check_bands(self) -> ContextFactor:
        bands = self.bands_m
        if not bands:
            raise ValueError("bands_m must list at least one distance")
        if any(not math.isfinite(b) or b <= 0 for b in bands):
            raise ValueError("bands_m must be positive distances in metres")
        if any(b2 <= b1 for b1, b2 in zip(bands, bands[1:], strict=False)):
            raise ValueError("bands_m must increase")
        if len(self.multipliers) != len(bands) + 1:
            raise ValueError(
                f"multipliers needs {len(bands) + 1} values (one per band and one for beyond "
                f"the last band), found {len(self.multipliers)}"
            )
        if any(not math.isfinite(m) or m <= 0 for m in self.multipliers):
            raise ValueError("multipliers must be positive")
        return self

    def multiplier(self, distance_m: np.ndarray) -> np.ndarray:
        """Return the band multiplier for each distance (NaN = beyond every band)."""
        d = np.asarray(distance_m, dtype=float)
        index = np.searchsorted(np.asarray(self.bands_m), np.where(np.isnan(d), np.inf, d),
                                side="left")
        return np.asarray(self.multipliers, dtype=float)[index]


class HotspotSettings(BaseModel):
    """Defaults of the Gi* hot spot analysis."""

    model_config = ConfigDict(extra="forbid")
    permutations: int = Field(default=999, ge=0, le=99_999)
    seed: int = 20240930
    h3_ring: int = Field(default=1, ge=1, le=5)
    confidence: list[float] = Field(default_factory=lambda: [0.99, 0.95, 0.90])
    false_discovery_rate: bool = True

    @field_validator("confidence")
    @classmethod
    def _confidence(cls, value: list[float]) -> list[float]:
        if not value or any(not 0 < c < 1 for c in value):
            raise ValueError("confidence levels must lie between 0 and 1")
        return sorted(value, reverse=True)


class KpiSettings(BaseModel):
    """The provincial KPI targets (com.analysis.kpi)."""

    model_config = ConfigDict(extra="forbid")
    annual_reduction: float = Field(default=0.10, gt=0, lt=1)
    final_reduction: float = Field(default=0.80, gt=0, lt=1)
    final_fiscal_year_be: int = Field(default=2570, ge=2400)
    project_coverage: float = Field(default=0.80, gt=0, le=1)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    displacement_buffer_m: float = Field(default=2000, gt=0, le=50_000)


class SeverityModel(BaseModel):
    """The severity model: categories, levels, recency, context factors, hot spot and KPI settings.

    Build it with :func:`load_severity_model`.
    """

    model_config = ConfigDict(extra="forbid")
    recency: Recency
    levels: dict[int, Level]
    categories: dict[str, Category]
    unknown_category: Category
    context: dict[str, ContextFactor] = Field(default_factory=dict)
    hotspots: HotspotSettings = Field(default_factory=HotspotSettings)
    kpi: KpiSettings = Field(default_factory=KpiSettings)
    source: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> SeverityModel:
        if sorted(self.levels) != [1, 2, 3, 4, 5]:
            raise ValueError("levels must be exactly 1, 2, 3, 4 and 5")
        if not self.categories:
            raise ValueError("categories: at least one category is needed")
        if self.unknown_category.key in self.categories:
            raise ValueError(
                f"unknown_category.key {self.unknown_category.key!r} is also a category"
            )
        owner: dict[str, str] = {}
        for key, cat in self.categories.items():
            for alias in (key, cat.th, cat.en, *cat.aliases):
                norm = _normalise(alias)
                if norm and owner.setdefault(norm, key) != key:
                    raise ValueError(
                        f"alias {alias!r} belongs to both {owner[norm]!r} and {key!r}"
                    )
        return self

    @property
    def category_keys(self) -> list[str]:
        """Category keys in file order, then the unknown key."""
        return [*self.categories, self.unknown_category.key]

    def weight_of(self, key: str) -> float:
        """Return the weight of a category key (the unknown weight for anything else)."""
        cat = self.categories.get(key)
        return cat.weight if cat is not None else self.unknown_category.weight

    def category(self, key: str) -> Category:
        """Return a category by key (the unknown category for anything else)."""
        return self.categories.get(key, self.unknown_category)

    def alias_index(self) -> dict[str, str]:
        """Return normalised alias -> category key (:func:`alias_index`, unknown included)."""
        return alias_index([*self.categories.values(), self.unknown_category])

    def digest(self) -> dict[str, Any]:
        """Return the numbers that determine a score (stored with target lists)."""
        return {
            "half_life_days": self.recency.half_life_days,
            "undated_factor": self.recency.undated_factor,
            "weights": {k: c.weight for k, c in self.categories.items()},
            "unknown_weight": self.unknown_category.weight,
            "context": {
                k: {"bands_m": f.bands_m, "multipliers": f.multipliers, "weight": f.weight}
                for k, f in self.context.items()
            },
            "source": self.source,
        }


#: What a category spelling keeps: Latin letters, digits and Thai letters and marks. Spaces,
#: punctuation, brackets and case never distinguish two categories.
_KEEP = re.compile(r"[^0-9a-z\u0e01-\u0e3a\u0e40-\u0e4e]+")
_BRACKETED = re.compile(r"[(\[{（].*?[)\]}）]")


def normalise_category(text: object) -> str:
    """Return the comparison key of a category spelling: the one rule used everywhere.

    NFC, Thai digits as Arabic digits, no invisible characters (:func:`com.text.thai.clean_text`),
    case folded, and only Latin letters, digits and Thai letters kept.

    Examples
    --------
    >>> normalise_category(" Drug-Trafficking ")
    'drugtrafficking'
    """
    return _KEEP.sub("", clean_text(str(text)).casefold())


def _normalise(text: object) -> str:
    return normalise_category(text)


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def _read_toml(path: Path | None) -> dict[str, Any]:
    try:
        if path is None:
            text = resources.files("com.config").joinpath("severity.toml").read_text(
                encoding="utf-8"
            )
        else:
            text = Path(path).read_text(encoding="utf-8")
        return tomllib.loads(text)
    except FileNotFoundError as exc:
        raise ConfigError(f"severity file {path}: no such file") from exc
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"severity file {path or 'com/config/severity.toml'}: {exc}") from exc


def load_severity_tables(path: Path | str | None = None) -> dict[str, Any]:
    """Return the packaged severity TOML merged with an override file, not yet validated.

    The one override rule: tables merge key by key at every depth (an override holding only
    ``[categories.drugs] weight = 3.0`` keeps the category's names and aliases); any other
    value replaces the packaged one.

    Raises
    ------
    com.errors.ConfigError
        When a file cannot be read or is not TOML.
    """
    data = _read_toml(None)
    if path is not None:
        data = _merge(data, _read_toml(Path(path)))
    return data


def load_severity_model(path: Path | str | None = None) -> SeverityModel:
    """Read the packaged severity model, merged with a province's override file.

    Parameters
    ----------
    path : Path or str, optional
        A TOML override (``COM_SEVERITY_CONFIG``). Tables merge key by key: an override
        holding only ``[categories.drugs] weight = 3.0`` changes that number alone.

    Returns
    -------
    SeverityModel
        The validated model.

    Raises
    ------
    com.errors.ConfigError
        When a file cannot be read or a value is invalid; the message names the file and the
        key (``categories.drugs.weight: Input should be greater than 0``).

    Examples
    --------
    >>> load_severity_model().categories["drugs"].weight
    2.0
    """
    data = load_severity_tables(path)
    sources = ["com/config/severity.toml"]
    if path is not None:
        sources.append(str(path))
    prepared = dict(data)
    try:
        prepared["categories"] = {
            key: {"key": key, **dict(spec)} for key, spec in (data.get("categories") or {}).items()
        }
        unknown = dict(data.get("unknown_category") or {"key": "unknown", "th": "ไม่ระบุประเภท",
                                                        "en": "Unclassified", "weight": 1.0})
        unknown.setdefault("key", "unknown")
        prepared["unknown_category"] = unknown
        prepared["context"] = {
            key: {"key": key, **dict(spec)} for key, spec in (data.get("context") or {}).items()
        }
        prepared["levels"] = {int(k): v for k, v in (data.get("levels") or {}).items()}
    except (TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"severity file {sources[-1]}: malformed table ({exc})") from exc
    prepared["source"] = sources
    try:
        return SeverityModel.model_validate(prepared)
    except PydanticValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'model'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"severity model ({' + '.join(sources)}): {problems}") from None


def category_key(raw: object, model: SeverityModel | None = None, *, strict: bool = False) -> str:
    """Return the category key of a cell by its key, Thai or English name or an alias.

    The exact rule (:func:`match_category`): matching ignores case, spaces, punctuation and
    Thai/Arabic digit differences (``"ยาเสพติด "``, ``"Drugs"`` and ``"drug"`` are all
    ``drugs``), and a bracketed note (``"ยาเสพติด (ค้า)"``). No typo correction: that is
    :class:`CategoryMatcher`'s option at upload.

    Parameters
    ----------
    raw : object
        The category as written.
    model : SeverityModel, optional
        Default: the packaged model.
    strict : bool
        Raise for an unknown category instead of returning the unknown key.

    Returns
    -------
    str
        A key of ``model.categories``, or ``model.unknown_category.key``.

    Raises
    ------
    com.errors.ValidationError
        With ``strict=True``, for a value that matches no category (the message lists them).

    Examples
    --------
    >>> category_key("ยาเสพติด")
    'drugs'
    >>> category_key("something else")
    'unknown'
    """
    model = model or _default_model()
    key = match_category(raw, model.alias_index())
    if key is None:
        if strict:
            raise ValidationError(
                f"unknown category {raw!r}; categories: {', '.join(model.category_keys)}"
            )
        return model.unknown_category.key
    return key


_DEFAULT_MODEL: SeverityModel | None = None


def _default_model() -> SeverityModel:
    global _DEFAULT_MODEL
    if _DEFAULT_MODEL is None:
        _DEFAULT_MODEL = load_severity_model()
    return _DEFAULT_MODEL


def severity_model_of(model: SeverityModel | Path | str | None) -> SeverityModel:
    """Return ``model`` itself, the model of an override file, or the packaged model (None)."""
    if model is None:
        return _default_model()
    if isinstance(model, SeverityModel):
        return model
    return load_severity_model(model)


@lru_cache(maxsize=8)
def _cached_model(path: str | None) -> SeverityModel:
    return load_severity_model(path) if path is not None else _default_model()


def cached_severity_model(path: Path | str | None = None) -> SeverityModel:
    """Return :func:`load_severity_model` of ``path``, read once per process (request paths).

    The returned model is shared: treat it as read-only.
    """
    return _cached_model(str(path) if path is not None else None)


def sensitive_categories(model: SeverityModel | Path | str | None = None) -> frozenset[str]:
    """Return the keys of the categories marked ``sensitive = true``, the unknown one included.

    The one sensitive set: exact locations of these categories are shown only to principals
    with the ``sensitive`` right (maps, OGC items and tiles, exports, CCTV plans, rankings).

    Parameters
    ----------
    model : SeverityModel, Path or str, optional
        A model, or an override file (``COM_SEVERITY_CONFIG``); default: the packaged model.

    Returns
    -------
    frozenset of str
        Category keys; ``unknown_category.key`` too when the unknown category is marked
        sensitive.

    Examples
    --------
    >>> sorted(sensitive_categories())
    ['drugs']
    """
    resolved = model if isinstance(model, SeverityModel) else cached_severity_model(model)
    cats = [*resolved.categories.values(), resolved.unknown_category]
    return frozenset(c.key for c in cats if c.sensitive)


# --------------------------------------------------------------------------- category spelling


def alias_index(categories: Iterable[Category]) -> dict[str, str]:
    """Return normalised spelling -> key for each category's key, Thai and English name, aliases.

    An earlier category keeps a spelling that a later one repeats.
    """
    index: dict[str, str] = {}
    for cat in categories:
        for alias in (cat.key, cat.th, cat.en, *cat.aliases):
            norm = normalise_category(alias)
            if norm:
                index.setdefault(norm, cat.key)
    return index


def match_category(raw: object, index: Mapping[str, str]) -> str | None:
    """Return the category key a spelling names exactly, or None.

    The exact rule used by uploads, rankings, maps and the OGC/CQL2 filters alike: the whole
    cell normalised (:func:`normalise_category`), else the cell without its bracketed notes
    (``"ยาเสพติด (ค้า)"``).

    Parameters
    ----------
    raw : object
        The spelling as written.
    index : mapping of str to str
        :func:`alias_index` of the categories (``SeverityModel.alias_index()``).

    Examples
    --------
    >>> match_category("ยาเสพติด (drugs)", load_severity_model().alias_index())
    'drugs'
    """
    if raw is None or is_blank(raw):
        return None
    text = str(raw)
    key = index.get(normalise_category(text))
    if key is None:
        stripped = normalise_category(_BRACKETED.sub(" ", text))
        key = index.get(stripped) if stripped else None
    return key


class CategoryMatcher:
    """Match category cells of an upload to the configured categories.

    The exact rule first (:func:`match_category`); then, when ``fuzzy`` (the upload's option),
    rapidfuzz for typos and a single category whose spelling the text contains
    ("ค้ายาเสพติด"), each reported as a warning; anything else is ``unknown`` and reported.
    """

    def __init__(
        self,
        categories: Mapping[str, Sequence[str]],
        unknown: str = "unknown",
        *,
        fuzzy: bool = True,
    ):
        self.unknown = unknown
        self.fuzzy = fuzzy
        self.index: dict[str, str] = {}
        for key, aliases in categories.items():
            for alias in (key, *aliases):
                k = normalise_category(alias)
                if k:
                    self.index.setdefault(k, key)
        self.names = {k: (list(v) or [k])[0] for k, v in categories.items()}
        self._cache: dict[str, tuple[str, str | None]] = {}

    @classmethod
    def from_model(cls, model: SeverityModel, *, fuzzy: bool = True) -> CategoryMatcher:
        """Build from a severity model (its categories and the unknown category's spellings)."""
        cats = [*model.categories.values(), model.unknown_category]
        spellings = {c.key: [a for a in (c.th, c.en, *c.aliases) if a] for c in cats}
        matcher = cls(spellings, model.unknown_category.key, fuzzy=fuzzy)
        return matcher

    def match(self, raw: object) -> tuple[str, str | None]:
        """Return ``(category key, warning or None)`` for a cell."""
        if type(raw) is str and raw in self._cache:
            return self._cache[raw]
        text = clean_text(str(raw)) if not is_blank(raw) else ""
        if not text:
            return self.unknown, "no category given; kept as unknown"
        if text in self._cache:
            return self._cache[text]
        result = self._match(text)
        self._cache[text] = result
        if type(raw) is str:
            self._cache[raw] = result
        return result

    def _match(self, text: str) -> tuple[str, str | None]:
        exact = match_category(text, self.index)
        if exact is not None:
            return exact, None
        key = normalise_category(_BRACKETED.sub(" ", text)) or normalise_category(text)
        if self.fuzzy and len(key) >= 4:
            # rapidfuzz is imported here: only uploads correct typos, `com --help` stays light.
            from rapidfuzz import fuzz, process

            hit = process.extractOne(
                key, [k for k in self.index if len(k) >= 4], scorer=fuzz.ratio, score_cutoff=85
            )
            if hit is not None:
                cat = self.index[hit[0]]
                return cat, f"category {text!r} read as {self.names.get(cat, cat)} ({cat})"
            contained = {cat for alias, cat in self.index.items() if len(alias) >= 4
                         and alias in key}
            if len(contained) == 1:
                cat = contained.pop()
                return cat, f"category {text!r} read as {self.names.get(cat, cat)} ({cat})"
        return self.unknown, f"category {text!r} is not in the category list; kept as unknown"
