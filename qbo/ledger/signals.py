"""What the ledger tells the rest of the product, without knowing who listens (blinker signals).

The QuickBooks sync subscribes to `record_changed` (qbo.quickbooks.marking) so that the ledger
imports nothing of QuickBooks: a record saved or deleted is marked pending in the same transaction.
"""
from blinker import Namespace

_signals = Namespace()

# sender: the ledger record (Account, Service, Invoice, CreditNote, Payment, Refund) just written,
# flushed but not committed.
record_changed = _signals.signal("record-changed")
