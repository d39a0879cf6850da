"""Roles and the permissions each grants. Views and the API ask `can(user, PERMISSION)`."""
VIEW_LEDGER = "view_ledger"
EDIT_LEDGER = "edit_ledger"
VIEW_ERRORS = "view_errors"
ACT_ON_ERRORS = "act_on_errors"
MANAGE_SETTINGS = "manage_settings"
MANAGE_CONNECTION = "manage_connection"
APPROVE_BULK = "approve_bulk"
MANAGE_USERS = "manage_users"

ROLES = ("owner", "admin", "staff", "viewer")

_VIEWER = {VIEW_LEDGER, VIEW_ERRORS}
_STAFF = _VIEWER | {EDIT_LEDGER, ACT_ON_ERRORS}
_ADMIN = _STAFF | {MANAGE_SETTINGS}
_OWNER = _ADMIN | {MANAGE_CONNECTION, APPROVE_BULK, MANAGE_USERS}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "owner": frozenset(_OWNER),
    "admin": frozenset(_ADMIN),
    "staff": frozenset(_STAFF),
    "viewer": frozenset(_VIEWER),
}

# Who a person should ask when a button is missing (error case `no-permission`).
WHO_CAN = {
    VIEW_LEDGER: ("owner", "admin", "staff", "viewer"),
    EDIT_LEDGER: ("owner", "admin", "staff"),
    VIEW_ERRORS: ("owner", "admin", "staff", "viewer"),
    ACT_ON_ERRORS: ("owner", "admin", "staff"),
    MANAGE_SETTINGS: ("owner", "admin"),
    MANAGE_CONNECTION: ("owner",),
    APPROVE_BULK: ("owner",),
    MANAGE_USERS: ("owner",),
}


def permissions_for(role: str, *, admins_manage_connection: bool = False) -> frozenset[str]:
    """The permissions a role grants; the firm may let admins manage the QBO connection too."""
    granted = ROLE_PERMISSIONS.get(role, frozenset())
    if role == "admin" and admins_manage_connection:
        granted = granted | {MANAGE_CONNECTION}
    return granted


def can(user, permission: str) -> bool:
    """True when the signed-in user (or API key owner) holds the permission."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    firm = user.firm
    return permission in permissions_for(
        user.role, admins_manage_connection=bool(firm and firm.admins_manage_connection)
    )
