"""Refund -> QBO RefundReceipt, paid out of a bank account."""
from sqlalchemy.orm import joinedload

from qbo.ledger.models import Payment, Refund
from qbo.quickbooks import currency, tax
from qbo.quickbooks.sync.context import Blocked, find_marked, marker

RECORD_TYPE = "refund"
QBO_ENTITY = "RefundReceipt"
MODEL = Refund
NAME_LIST = False
HAS_DEPENDENCIES = True
PAYMENT_TYPES = {"card": "CreditCard", "check": "Check", "cash": "Cash"}


def load_options() -> tuple:
    return (joinedload(Refund.payment).joinedload(Payment.account),)


def dependencies(refund: Refund) -> list:
    return [("account", refund.payment.account_id), ("payment", refund.payment_id)]


def to_qbo(refund: Refund, ctx) -> dict:
    account = refund.payment.account
    # RefundReceipt needs DepositToAccountRef of type Bank or Other Current Asset (ref §4).
    bank = None
    if ctx.firm.deposit_account_qbo_id:
        bank = ctx.accounts_by_id.get(ctx.firm.deposit_account_qbo_id)
    if bank is None or bank.get("AccountType") not in ("Bank", "Other Current Asset"):
        bank = ctx.first_account("Bank", prefer=("Checking",))
    if bank is None:
        raise Blocked("qbo-fault", "QuickBooks has no Bank account to pay refunds from. Add one in "
                      "QuickBooks, then resync.", field="deposit_account", kind="no-bank-account")
    payload = {
        "CustomerRef": ctx.require("account", account.id, f"customer \"{account.name}\""),
        "TxnDate": refund.date.isoformat(),
        "DepositToAccountRef": {"value": bank["Id"], "name": bank.get("Name")},
        "PrivateNote": marker(RECORD_TYPE, refund.id),
        "Line": [{"Amount": float(refund.amount), "DetailType": "SalesItemLineDetail",
                  "Description": refund.reason or f"Refund of payment {refund.payment_id}",
                  "SalesItemLineDetail": {"ItemRef": ctx.refund_item(), "Qty": 1,
                                          "UnitPrice": float(refund.amount)}}],
    }
    payment_type = PAYMENT_TYPES.get(refund.payment.method)
    if payment_type:
        payload["PaymentType"] = payment_type
    method = ctx.payment_method_for(refund.payment.method)
    if method is not None:
        payload["PaymentMethodRef"] = {"value": method["Id"], "name": method.get("Name")}
    tax.apply_to_refund(payload, ctx)  # issue 17: a refund line carries no tax
    if currency.foreign_currency(account, ctx):
        payload["CurrencyRef"] = {"value": currency.foreign_currency(account, ctx)}
        payload["ExchangeRate"] = float(currency.rate_for(refund.payment, ctx))
    return payload


def find_existing(refund: Refund, payload: dict, ctx):
    return find_marked(QBO_ENTITY, RECORD_TYPE, refund.id, payload, ctx)
