"""Payment -> QBO Payment, linked to its invoices and the credit memos it applies."""
from sqlalchemy.orm import joinedload, selectinload

from qbo.ledger.models import Payment, PaymentAllocation, PaymentCreditAllocation
from qbo.quickbooks import currency
from qbo.quickbooks.sync.context import Blocked, find_marked, marker

RECORD_TYPE = "payment"
QBO_ENTITY = "Payment"
MODEL = Payment
NAME_LIST = False
HAS_DEPENDENCIES = True


def load_options() -> tuple:
    return (joinedload(Payment.account),
            selectinload(Payment.allocations).joinedload(PaymentAllocation.invoice),
            selectinload(Payment.credit_allocations).joinedload(PaymentCreditAllocation.credit_note))


def dependencies(payment: Payment) -> list:
    deps = [("account", payment.account_id)]
    deps += [("invoice", a.invoice_id) for a in payment.allocations]
    deps += [("credit_note", a.credit_note_id) for a in payment.credit_allocations]
    return deps


def to_qbo(payment: Payment, ctx) -> dict:
    payload = {
        "CustomerRef": ctx.require("account", payment.account_id, f"customer \"{payment.account.name}\""),
        "TotalAmt": float(payment.amount),
        "TxnDate": payment.date.isoformat(),
        "PrivateNote": marker(RECORD_TYPE, payment.id),
        "Line": [],
    }
    for a in payment.allocations:
        ref = ctx.require("invoice", a.invoice_id, f"invoice {a.invoice.number}")
        payload["Line"].append({"Amount": float(a.amount), "LinkedTxn": [{"TxnId": ref["value"], "TxnType": "Invoice"}]})
    for a in payment.credit_allocations:
        ref = ctx.require("credit_note", a.credit_note_id, f"credit note {a.credit_note.number}")
        payload["Line"].append({"Amount": float(a.amount), "LinkedTxn": [{"TxnId": ref["value"], "TxnType": "CreditMemo"}]})
    method = ctx.payment_method_for(payment.method)
    if method is not None:
        payload["PaymentMethodRef"] = {"value": method["Id"], "name": method.get("Name")}
    if payment.reference:
        payload["PaymentRefNum"] = payment.reference  # pre-flight names the field if QBO would refuse its length
    if ctx.firm.deposit_account_qbo_id:
        account = ctx.accounts_by_id.get(ctx.firm.deposit_account_qbo_id)
        if account is None:
            raise Blocked("qbo-fault", "The deposit account chosen in the QuickBooks settings no longer "
                          "exists in QuickBooks. Choose another one, then resync.", field="deposit_account",
                          kind="deposit-account-gone")
        payload["DepositToAccountRef"] = {"value": account["Id"], "name": account.get("Name")}
    # Without DepositToAccountRef QBO files the payment under Undeposited Funds (ref §4 Payment).
    currency.apply_to_payload(payload, payment, ctx)  # issue 17
    currency.check_deposit_account(payload, ctx)
    return payload


def find_existing(payment: Payment, payload: dict, ctx):
    return find_marked(QBO_ENTITY, RECORD_TYPE, payment.id, payload, ctx)
