"""What the ledger tells the rest of the product, without knowing who listens (blinker signals).

The QuickBooks sync subscribes to `record_changed` (qbo.quickbooks.marking) so that the ledger
imports nothing of QuickBooks: a record saved or deleted is marked pending in the same transaction.
"""
from blinker import Namespace

_signals = Namespace()

# sender: the ledger record (Account, Service, Invoice, CreditNote, Payment, Refund) just written,
# flushed but not committed.
record_changed = _signals.signal("record-changed")

# sender: the Firm; keyword `number`: a document number the ledger is about to hand out. A receiver
# returns True when the number is already used outside the ledger (QuickBooks: invoices and credit
# memos share one numbering there), so the next number in sequence skips it.
number_in_use = _signals.signal("number-in-use")
