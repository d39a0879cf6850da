"""Account (the firm's client) -> QBO Customer."""
from qbo.ledger.models import Account
from qbo.quickbooks import currency

RECORD_TYPE = "account"
QBO_ENTITY = "Customer"
MODEL = Account
NAME_LIST = True
HAS_DEPENDENCIES = False


def load_options() -> tuple:
    return ()


def dependencies(account: Account) -> list:
    return []


def to_qbo(account: Account, ctx) -> dict:
    # Active is sent on every push: a Resync of a customer made inactive ("deleted") in QBO brings
    # the same customer back instead of colliding with its name (names stay taken, ref §4).
    payload = {"DisplayName": account.name, "Active": True}
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
    code = currency.check_customer(account, ctx)  # issue 17: a customer's currency is set at creation
    if code is not None:
        payload["CurrencyRef"] = {"value": code}
    return payload


def prefetch(accounts: list[Account], ctx) -> None:
    """Look a round's names up in a few queries (find_existing then answers from memory)."""
    ctx.prefetch_names(QBO_ENTITY, "DisplayName", [a.name for a in accounts])


def find_existing(account: Account, payload: dict, ctx) -> dict | None:
    """An exact display-name match links the account to that customer (error-cases `account-no-match`)."""
    found = ctx.named(QBO_ENTITY, "DisplayName", payload["DisplayName"])
    currency.check_existing_customer(account, found, ctx)  # Blocked: customer-currency-differs
    return found
