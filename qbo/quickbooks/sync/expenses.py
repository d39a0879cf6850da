"""A payment's card-processor fee (e.g. Stripe's) -> QBO Purchase paid by credit card.

The fee has no row of its own: its QboLink uses record_type "processor_fee" and the payment's id.
"""
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.orm import joinedload

from qbo.ledger.models import Payment
from qbo.quickbooks import currency
from qbo.quickbooks.sync.context import Blocked, find_marked, marker

RECORD_TYPE = "processor_fee"
QBO_ENTITY = "Purchase"
MODEL = Payment
NAME_LIST = False
HAS_DEPENDENCIES = False


def applies(payment: Payment) -> bool:
    return bool(payment.processor_fee and payment.processor_fee > 0)


def load_options() -> tuple:
    return (joinedload(Payment.account),)


def dependencies(payment: Payment) -> list:
    return []


def _card_account(ctx) -> dict:
    chosen = ctx.firm.card_account_qbo_id
    if chosen:
        account = ctx.accounts_by_id.get(chosen)
        if account is None:
            raise Blocked("expense-account-type", "The card account chosen for processing fees no longer "
                          "exists in QuickBooks.", field="card_account", kind="card-account-gone")
        return account  # a wrong type is reported by pre-flight (error case expense-account-type)
    account = ctx.first_account("Credit Card", prefer=("Stripe Card",))
    if account is None:
        raise Blocked("expense-account-type", "QuickBooks has no Credit Card account for processing "
                      "fees. Create one in QuickBooks or choose one in the QuickBooks settings, then resync.",
                      field="card_account", kind="no-card-account")
    return account


def _expense_account(ctx) -> dict:
    chosen = ctx.firm.fee_expense_account_qbo_id
    account = ctx.accounts_by_id.get(chosen) if chosen else \
        ctx.first_account("Expense", prefer=("Merchant Fees", "Bank Charges & Fees"))
    if account is None:
        raise Blocked("expense-account-type", "Choose the expense account for processing fees in the "
                      "QuickBooks settings, then resync.", field="fee_expense_account",
                      kind="no-fee-expense-account")
    return account


def to_qbo(payment: Payment, ctx) -> dict:
    card, expense = _card_account(ctx), _expense_account(ctx)
    processor = (payment.processor or "card processor").title()
    amount, note = payment.processor_fee, ""
    code = currency.foreign_currency(payment.account, ctx)
    if code is not None:
        # The processor charges the fee from the payout, booked in the home currency like the card
        # account it is paid from, at the payment's rate (issue 17: never at a rate of 1).
        rate = currency.rate_for(payment, ctx)
        amount = (payment.processor_fee * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        note = f" ({code} {payment.processor_fee} at {rate.normalize():f})"
    return {
        "PaymentType": "CreditCard",
        "AccountRef": {"value": card["Id"], "name": card.get("Name")},
        "EntityRef": {**ctx.vendor_for(processor), "type": "Vendor"},
        "TxnDate": payment.date.isoformat(),
        "PrivateNote": marker(RECORD_TYPE, payment.id),
        "Line": [{"Amount": float(amount), "DetailType": "AccountBasedExpenseLineDetail",
                  "Description": f"{processor} fee on payment of {payment.amount} from {payment.account.name}{note}",
                  "AccountBasedExpenseLineDetail": {"AccountRef": {"value": expense["Id"], "name": expense.get("Name")}}}],
    }


def find_existing(payment: Payment, payload: dict, ctx):
    return find_marked(QBO_ENTITY, RECORD_TYPE, payment.id, payload, ctx, party="EntityRef")
