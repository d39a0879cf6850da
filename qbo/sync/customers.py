"""Account (the firm's client) -> QBO Customer."""
from qbo.models import Account
from qbo.sync.context import quote

RECORD_TYPE = "account"
QBO_ENTITY = "Customer"
MODEL = Account
NAME_LIST = True


def dependencies(account: Account) -> list:
    return []


def to_qbo(account: Account, ctx) -> dict:
    payload = {"DisplayName": account.name}
    if account.kind == "individual":
        if account.first_name:
            payload["GivenName"] = account.first_name
        if account.last_name:
            payload["FamilyName"] = account.last_name
    if account.company_name:
        payload["CompanyName"] = account.company_name
    if account.email:
        payload["PrimaryEmailAddr"] = {"Address": account.email}
    if account.phone:
        payload["PrimaryPhone"] = {"FreeFormNumber": account.phone}
    return payload


def find_existing(account: Account, payload: dict, ctx) -> dict | None:
    """An exact display-name match links the account to that customer (error-cases `account-no-match`)."""
    found = ctx.client.query(f"SELECT * FROM Customer WHERE DisplayName = {quote(payload['DisplayName'])}")
    return found[0] if found else None
