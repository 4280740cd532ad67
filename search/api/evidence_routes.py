"""``GET /evidence/{hit_id}``: the evidence package of a page or listing hit, as a zip.

The package is :func:`search.evidence.write_package`'s (the WARC record, the manifests, the
extracted fields, a text rendering, a README and ``SHA256SUMS``).  Viewer access, like
``/export``; every download is audited (channel ``export``, format ``evidence``) and marks the
record protected from pruning.  A hit that does not exist (or that the blocklist hides) is a
404; a hit without an evidence record, or whose record no longer matches its digest, is a 409
with the reason.
"""

from __future__ import annotations

import tempfile

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from config.paths import evidence_dir

from search.api.context import SECURITY_HEADERS, audit, context_of, respond, viewer
from search.auth import TokenRecord
from search.es_steps import run
from search.evidence import EvidenceError, hit_document_steps, write_package, zip_package

router = APIRouter(tags=["evidence"])


@router.get("/evidence/{hit_id}", summary="Download the evidence package of a page or listing hit (zip)")
def evidence_package(
    request: Request,
    hit_id: str = Path(..., max_length=256),
    who: TokenRecord = Depends(viewer),
) -> Response:
    context = context_of(request)
    found = run(context.client, hit_document_steps(context.index_prefix, hit_id))
    audit(request, who, query=f"evidence:{hit_id}", kind=found[0] if found else "evidence",
          result_count=1 if found else 0, channel="export", detail={"format": "evidence"})
    if found is None:
        return respond(request, "error.html", {"error": "no page or listing has this id", "status": 404}, 404)
    kind, source = found
    with tempfile.TemporaryDirectory(prefix="onionscope-evidence-") as folder:
        try:
            package = write_package(evidence_dir(context.settings), kind, hit_id, source, folder)
        except EvidenceError as exc:
            return respond(request, "error.html", {"error": str(exc), "status": 409}, 409)
        body = zip_package(package)
    headers = dict(SECURITY_HEADERS)
    headers["Content-Disposition"] = f'attachment; filename="evidence-{package.ref.digest[:16]}.zip"'
    return Response(body, media_type="application/zip", headers=headers)
