"""One address grammar for /taxi and /taxi_cost: what a dispatcher types -> TMWeb's address.

TMWeb prices and routes only addresses it knows by their exact names ("улица Малышева, 51",
"Железнодорожный вокзал"), so a typed place is looked up with ``get_addresses_like`` first:

* a street and a house in any common form — "Малышева 51", "ул. Малышева, д. 51",
  "пр-т Ленина 24"; the street-type words are left out of the search (TMWeb searches by part
  of the name, and "ул." is not part of "улица Малышева");
* a place by part of its name — "вокзал", "кольцово";
* candidates ranked: the name itself, then names with the typed words as whole words, then
  names merely containing them ("вокзал" is the railway station before "Автовокзал Южный").

The wizard offers the ranked candidates as buttons; /taxi_cost takes the first when it alone
ranks best, and asks to say it more exactly otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from handlers.taximaster.parsing import split_street_house
from integrations.taximaster.client import TaxiMasterClient
from integrations.taximaster.matching import TYPE_WORDS, place_words
from integrations.taximaster.models import Address, AddressKind

MAX_FOUND: Final = 10
MAX_HOUSES: Final = 12


@dataclass
class Lookup:
    """What a typed place turned out to be."""

    query: str  # what was searched for
    house: str = ""  # the house typed, if any
    exact: Address | None = None  # one address, house included where one was typed
    candidates: list[Address] = field(default_factory=list)  # ranked, best first

    @property
    def unique(self) -> Address | None:
        """The exact address, or the one candidate that ranks best on its own."""
        if self.exact is not None:
            return self.exact
        if len(self.candidates) == 1:
            return self.candidates[0]
        if len(self.candidates) > 1 and rank(self.query, self.candidates[0]) < rank(
            self.query, self.candidates[1]
        ):
            return self.candidates[0]
        return None


def search_text(street_part: str) -> str:
    """The words worth searching for: "ул. Малышева" -> "Малышева"."""
    words = street_part.replace(",", " ").split()
    kept = [w for w in words if w.casefold().strip(".") not in TYPE_WORDS]
    return " ".join(kept) or street_part


def rank(query: str, address: Address) -> int:
    """0: the name itself; 1: the typed words as whole words of the name; 2: contained."""
    typed, named = place_words(query), place_words(address.street)
    if typed == named:
        return 0
    if typed and typed <= named:
        return 1
    return 2


async def look_up(taximaster: TaxiMasterClient, typed: str) -> Lookup:
    """Search TMWeb for a typed place (a street with a house, or a point)."""
    street_part, house = split_street_house(typed)
    query = search_text(street_part)
    found = await taximaster.get_addresses_like(query, max_addresses_count=MAX_FOUND)
    if house and not found:  # "8 Марта": a name ending in a number, not a house
        query, house = search_text(typed), ""
        found = await taximaster.get_addresses_like(query, max_addresses_count=MAX_FOUND)
    ranked = sorted(found, key=lambda a: rank(query, a))
    lookup = Lookup(query=query, house=house, candidates=ranked)
    streets = [a for a in ranked if a.kind == AddressKind.STREET]
    best = [a for a in streets if rank(query, a) == rank(query, streets[0])] if streets else []
    if house and len(best) == 1:
        houses = await taximaster.find_houses(best[0].street, house, max_addresses_count=MAX_HOUSES)
        lookup.exact = next((h for h in houses if h.house.casefold() == house.casefold()), None)
    return lookup
