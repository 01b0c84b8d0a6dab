"""Thai address geocoding to subdistrict (tambon) codes against the ``geothai`` gazetteer.

An address goes through the modules in this order: :mod:`.parsing` splits it into labelled
words (ต./อ./จ., postal code), :mod:`.evidence` reads which provinces and districts it names,
:mod:`.candidates` lists the subdistricts each word may name (exact, then fuzzy through
:mod:`.name_index`), :mod:`.scoring` scores each against all the evidence and
:mod:`.decision` picks one subdistrict, a common district or province, or none.
:mod:`.matcher` runs them for one address and :mod:`.batch` for many; the thresholds live in
:mod:`.tuning` and the gazetteer with its name keys in :mod:`.gazetteer` and :mod:`.names`.
"""

# Why hand-written: geothai.match() needs the address already split into fields and exact names,
# and no maintained library splits free Thai address text (ต./อ./จ., หมู่, บ้าน..., Thai digits,
# romanised forms) or weighs typos against ambiguity. geothai supplies the gazetteer, pythainlp
# the text normalisation and rapidfuzz the typo matching; this package only combines them.

from com.ingest.geocode.batch import RESULT_COLUMNS, geocode_csv, geocode_many
from com.ingest.geocode.caches import clear_caches
from com.ingest.geocode.gazetteer import Gazetteer, get_gazetteer
from com.ingest.geocode.matcher import geocode
from com.ingest.geocode.parsing import ParsedAddress, Role, parse_address
from com.ingest.geocode.result import Candidate, GeocodeResult, Quality
from com.ingest.geocode.tuning import AMBIGUITY_MARGIN, CONFIDENT_SCORE

__all__ = [
    "AMBIGUITY_MARGIN",
    "CONFIDENT_SCORE",
    "RESULT_COLUMNS",
    "Candidate",
    "GeocodeResult",
    "Gazetteer",
    "ParsedAddress",
    "Quality",
    "Role",
    "clear_caches",
    "geocode",
    "geocode_csv",
    "geocode_many",
    "get_gazetteer",
    "parse_address",
]
