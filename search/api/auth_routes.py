"""Logging in and out of the UI, and token management for admins.

* ``GET /login`` -- the form; ``POST /login`` -- at most
  ``login_attempts_per_window`` attempts per client address in any
  ``login_window_seconds`` (then 429 with Retry-After); checks the token and sets
  the session cookie (HttpOnly, SameSite=Strict; Secure over https, which
  behind a TLS proxy needs the proxy's address in ``trusted_proxies``).  The
  cookie holds a signed digest of the token and an expiry, never the token.
* ``POST /logout`` -- clears it.
* ``GET /auth/whoami`` -- the caller's token record.
* ``GET|POST /auth/tokens``, ``DELETE /auth/tokens/{token_id}`` -- admin only.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from search.api.context import (
    SECURITY_HEADERS,
    SESSION_COOKIE,
    JSONAnswer,
    admin,
    context_of,
    render_html,
    viewer,
    wants_json,
)
from search.api.login_limit import client_address
from search.auth import (
    MAX_EXPIRY_DAYS,
    ROLES,
    SESSION_LIFETIME_SECONDS,
    TokenRecord,
    create_token,
    hash_token,
    list_tokens,
    make_session_cookie,
    revoke_token,
    verify_token,
)
from config.errors import UserError
from config.paths import index_templates_dir

router = APIRouter(tags=["auth"])


def safe_next(target: str | None) -> str:
    """Only a path on this site: never an absolute or protocol-relative URL."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/search"
    return target


@router.get("/login", include_in_schema=False)
def login_form(request: Request, next: str = "/search") -> Response:
    return render_html(request, "login.html", {"error": None, "status": 200, "next": safe_next(next)})


@router.post("/login", include_in_schema=False)
def login(request: Request, token: str = Form(..., max_length=200), next: str = Form("/search")) -> Response:
    context = context_of(request)
    wait = context.login_limiter.attempt(client_address(request)) if context.login_limiter else None
    if wait is not None:
        limiter = context.login_limiter
        message = (f"too many login attempts from this address (at most {limiter.attempts} in "
                   f"{limiter.window_seconds:g} s: settings login_attempts_per_window, login_window_seconds); "
                   f"try again in {wait} s")
        headers = {**SECURITY_HEADERS, "Retry-After": str(wait)}
        if wants_json(request):
            return JSONAnswer({"error": message, "status": 429, "retry_after": wait}, status_code=429, headers=headers)
        page = render_html(request, "login.html", {"error": message, "status": 429, "next": safe_next(next)}, 429)
        page.headers["Retry-After"] = str(wait)
        return page
    record = verify_token(context.client, context.index_prefix, token)
    if record is None:
        return render_html(
            request, "login.html", {"error": "that token is not valid (unknown or revoked)", "status": 401,
                                    "next": safe_next(next)}, 401
        )
    response = RedirectResponse(safe_next(next), status_code=303, headers=SECURITY_HEADERS)
    response.set_cookie(
        SESSION_COOKIE,
        make_session_cookie(context.secret, hash_token(token.strip())),
        max_age=SESSION_LIFETIME_SECONDS,
        httponly=True,
        samesite="strict",
        # https directly, or said by a proxy in trusted_proxies (the app's
        # ProxyHeadersMiddleware sets the scheme); a bare X-Forwarded-Proto is ignored.
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303, headers=SECURITY_HEADERS)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")
    return response


@router.get("/auth/whoami", summary="The caller's token")
def whoami(who: TokenRecord = Depends(viewer)) -> dict[str, Any]:
    return who.to_json()


class NewToken(BaseModel):
    role: str = Field(..., description="viewer or admin")
    name: str | None = Field(None, max_length=100)
    expires_in_days: float | None = Field(None, gt=0, le=MAX_EXPIRY_DAYS,
                                          description="refused everywhere after this many days (default: never)")


@router.get("/auth/tokens", summary="List tokens (admin)")
def tokens(request: Request, who: TokenRecord = Depends(admin)) -> dict[str, Any]:
    context = context_of(request)
    return {"tokens": [record.to_json() for record in list_tokens(context.client, context.index_prefix)]}


@router.post("/auth/tokens", summary="Create a token (admin); the token is in the answer, once")
def new_token(request: Request, body: NewToken, who: TokenRecord = Depends(admin)) -> Response:
    context = context_of(request)
    if body.role not in ROLES:
        return JSONResponse({"error": f"role must be one of {', '.join(ROLES)}", "status": 400}, status_code=400)
    try:
        token, record = create_token(context.client, context.index_prefix, body.role, body.name, body.expires_in_days,
                                     templates_dir=index_templates_dir(context.settings.config_dir))
    except UserError as exc:
        return JSONResponse({"error": str(exc), "status": 400}, status_code=400)
    return JSONResponse({"token": token, **record.to_json()}, status_code=201, headers=SECURITY_HEADERS)


@router.delete("/auth/tokens/{token_id}", summary="Revoke a token (admin)")
def revoke(request: Request, token_id: str, who: TokenRecord = Depends(admin)) -> Response:
    context = context_of(request)
    try:
        record = revoke_token(context.client, context.index_prefix, token_id)
    except UserError as exc:
        return JSONResponse({"error": str(exc), "status": 404}, status_code=404)
    # This server stops accepting it now; others within api_token_cache_seconds.
    context.tokens.discard(record.token_id)
    return JSONResponse(record.to_json(), headers=SECURITY_HEADERS)
