"""Service -> QBO Item of type Service, with its income account."""
from qbo.models import Service
from qbo.sync.context import Blocked, quote

RECORD_TYPE = "service"
QBO_ENTITY = "Item"
MODEL = Service
NAME_LIST = True


def dependencies(service: Service) -> list:
    return []


def to_qbo(service: Service, ctx) -> dict:
    name = service.income_account or ctx.firm.default_income_account
    account = ctx.account_named(name)
    if account is None:
        raise Blocked("service-error", f"The income account \"{name}\" does not exist in QuickBooks. "
                      "Choose an Income account that exists in QuickBooks, then resync.",
                      field="income_account", value=name)
    payload = {"Name": service.name, "Type": "Service",
               "IncomeAccountRef": {"value": account["Id"], "name": account["Name"]}}
    if service.description:
        payload["Description"] = service.description
    if service.rate is not None:
        payload["UnitPrice"] = float(service.rate)
    return payload


def find_existing(service: Service, payload: dict, ctx) -> dict | None:
    found = ctx.client.query(f"SELECT * FROM Item WHERE Name = {quote(payload['Name'])}")
    return found[0] if found else None
