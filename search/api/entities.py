"""The entity pages: one router for listings, vendors, wallets and onions.

Public API:

* :class:`EntityPage` -- what differs between the kinds: URL, path parameter
  and its length cap, the pivot that looks the entity up
  (:mod:`search.pivots`), audit kind and query, template, not-found message.
* :data:`ENTITY_PAGES` -- the four kinds:

  * ``GET /listings/{listing_id}`` -- a listing, linked to its vendor, wallets and onion;
  * ``GET /vendors/{vendor_id}`` -- a vendor, its listings, the same vendor on other markets;
  * ``GET /wallets/{address}`` -- the listings, vendors, pages and markets that use an address;
  * ``GET /onions/{host}`` -- an onion service's liveness and its pages.

* :data:`router` -- the FastAPI router serving every page in :data:`ENTITY_PAGES`.

Every page behaves alike: a viewer token is needed; every lookup is audited
before anything is answered (kind and query as the :class:`EntityPage`
says, ``result_count`` 1 or 0), found or not; the HTML page has a JSON twin
at the same URL (content negotiation, :func:`search.api.context.respond`);
an unknown entity is a 404 in the same format.  A new kind of entity page is
one more :class:`EntityPage` here, a pivot and a template.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from search.api.context import audit, context_of, respond, viewer
from search.auth import TokenRecord
from search.es_steps import Steps, run_async
from search.pivots import listing_detail_steps, onion_detail_steps, vendor_detail_steps, wallet_detail_steps


@dataclass(frozen=True)
class EntityPage:
    """One kind of entity page."""

    collection: str  # the first URL segment: /<collection>/{<parameter>}
    parameter: str  # the path parameter's name (as the API documents it)
    max_length: int  # longer values are a 400 before any lookup
    detail_steps: Callable[[str, str], Steps]  # (index prefix, key) -> the entity or None
    audit_kind: str
    audit_prefix: str  # the audited query is <audit_prefix><key>
    template: str
    not_found: str
    summary: str

    @property
    def path(self) -> str:
        return f"/{self.collection}/{{{self.parameter}}}"


ENTITY_PAGES: tuple[EntityPage, ...] = (
    EntityPage(
        collection="listings", parameter="listing_id", max_length=128, detail_steps=listing_detail_steps,
        audit_kind="listing", audit_prefix="listing-id:", template="listing.html",
        not_found="no listing with this id", summary="A listing and its pivots",
    ),
    EntityPage(
        collection="vendors", parameter="vendor_id", max_length=128, detail_steps=vendor_detail_steps,
        audit_kind="vendor", audit_prefix="vendor-id:", template="vendor.html",
        not_found="no vendor with this id", summary="A vendor, its listings and its links by PGP key or wallet",
    ),
    EntityPage(
        collection="wallets", parameter="address", max_length=256, detail_steps=wallet_detail_steps,
        audit_kind="wallet", audit_prefix="wallet:", template="wallet.html",
        not_found="this address was not seen", summary="A wallet address and everything that uses it",
    ),
    EntityPage(
        collection="onions", parameter="host", max_length=256, detail_steps=onion_detail_steps,
        audit_kind="onion", audit_prefix="onion:", template="onion.html",
        not_found="this onion host was not crawled", summary="An onion host: last status, last seen, pages",
    ),
)

router = APIRouter(tags=["entities"])


def _page_route(page: EntityPage) -> Callable[..., Any]:
    async def entity_page(
        request: Request,
        key: str = Path(..., alias=page.parameter, max_length=page.max_length),
        who: TokenRecord = Depends(viewer),
    ) -> Response:
        context = context_of(request)
        detail = await run_async(context.async_client(), page.detail_steps(context.index_prefix, key))
        audit(request, who, query=page.audit_prefix + key, kind=page.audit_kind,
              result_count=0 if detail is None else 1)
        if detail is None:
            return respond(request, "error.html", {"error": page.not_found, "status": 404}, 404)
        return respond(request, page.template, detail)

    entity_page.__name__ = f"{page.audit_kind}_page"
    return entity_page


for _page in ENTITY_PAGES:
    router.add_api_route(
        _page.path, _page_route(_page), methods=["GET"], summary=_page.summary, name=f"{_page.audit_kind}_page"
    )
