"""Service -> QBO Item of type Service, with its income account."""
from qbo.ledger.models import Service
from qbo.quickbooks.sync.context import Blocked

RECORD_TYPE = "service"
QBO_ENTITY = "Item"
MODEL = Service
NAME_LIST = True
HAS_DEPENDENCIES = False


def load_options() -> tuple:
    return ()


def dependencies(service: Service) -> list:
    return []


def to_qbo(service: Service, ctx) -> dict:
    name = service.income_account or ctx.firm.default_income_account
    account = ctx.account_named(name)
    if account is None:
        raise Blocked("income-account-missing", f"The income account \"{name}\" does not exist in QuickBooks. "
                      "Choose an Income account that exists in QuickBooks, then resync.",
                      field="income_account", value=name, kind="income-account-missing")
    payload = {"Name": service.name, "Type": "Service", "Active": True,  # see customers.to_qbo
               "IncomeAccountRef": {"value": account["Id"], "name": account["Name"]}}
    if service.description:
        payload["Description"] = service.description
    if service.rate is not None:
        payload["UnitPrice"] = float(service.rate)
    return payload


def prefetch(services: list[Service], ctx) -> None:
    """Look a round's names up in a few queries (find_existing then answers from memory)."""
    ctx.prefetch_names(QBO_ENTITY, "Name", [s.name for s in services])


def find_existing(service: Service, payload: dict, ctx) -> dict | None:
    return ctx.named(QBO_ENTITY, "Name", payload["Name"])
