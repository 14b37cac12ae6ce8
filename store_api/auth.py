"""Who may call what: bearer tokens and scopes, as FastAPI dependencies.

- no token, or one that is unknown or revoked → 401 (with ``WWW-Authenticate: Bearer``);
- a valid token without the scope an endpoint needs → 403;
- ``admin`` implies every scope; any valid token may read.

The caller is left in ``request.state.principal`` for the audit log.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer

from hub.auth import Principal, Scope
from store_api.models import Problem
from store_api.state import ApiState

bearer = HTTPBearer(
    auto_error=False,
    description="A token made by `storehub token create NAME --scope staff|hq|admin`.",
)
query_token = APIKeyQuery(
    name="token",
    auto_error=False,
    description="The token as a query parameter, for EventSource (which cannot set headers).",
)

#: Documented answers of a route (``responses=``).
Responses = dict[int | str, dict[str, Any]]
#: Documented on every protected route (with the 422 of a bad request).
AUTH_RESPONSES: Responses = {
    401: {"model": Problem, "description": "No token, or an unknown or revoked one"},
    422: {"model": Problem, "description": "Bad request: `detail` names the field"},
}
#: Documented on the routes that need a scope beyond a valid token.
FORBIDDEN: Responses = {
    403: {"model": Problem, "description": "The token lacks the scope this needs"},
}


def api_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


Api = Annotated[ApiState, Depends(api_state)]


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


async def _authenticate(request: Request, token: str | None) -> Principal:
    if not token:
        raise unauthorized("a bearer token is required (Authorization: Bearer <token>)")
    principal = await api_state(request).authenticate(token)
    if principal is None:
        raise unauthorized("unknown or revoked token")
    request.state.principal = principal
    return principal


async def principal(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Principal:
    return await _authenticate(request, creds.credentials if creds else None)


async def stream_principal(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    token: Annotated[str | None, Security(query_token)],
) -> Principal:
    return await _authenticate(request, creds.credentials if creds else token)


def forbidden(who: Principal, scope: Scope) -> HTTPException:
    return HTTPException(403, f"token {who.name!r} lacks the {scope!r} scope")


class Requires:
    """A dependency that lets through tokens with ``scope`` (or ``admin``)."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, who: Annotated[Principal, Depends(principal)]) -> Principal:
        if not who.allows(self.scope):
            raise forbidden(who, self.scope)
        return who


#: Any valid token.
Reader = Annotated[Principal, Depends(principal)]
StreamReader = Annotated[Principal, Depends(stream_principal)]
Staff = Annotated[Principal, Depends(Requires("staff"))]
Admin = Annotated[Principal, Depends(Requires("admin"))]


def may_send(who: Principal, staff_commands: tuple[str, ...], kind: str, name: str) -> bool:
    """Admins send anything; staff only the ``kind/command`` pairs the config lists."""
    if who.allows("admin"):
        return True
    return "staff" in who.scopes and f"{kind}/{name}" in staff_commands
