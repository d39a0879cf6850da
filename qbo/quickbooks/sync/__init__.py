"""One module per record type, same shape, pushed in dependency order.

Each module defines RECORD_TYPE, QBO_ENTITY, MODEL, NAME_LIST (a name list is deactivated rather
than deleted in QBO), `dependencies(record)` (records that must be linked first),
`to_qbo(record, ctx)` (the QBO payload; may add warnings to ctx) and
`find_existing(record, payload, ctx)` (a QBO record to link instead of creating one).
"""
from qbo.quickbooks.sync import credit_memos, customers, expenses, invoices, items, payments, refunds

# Dependencies first: customers and items, then sales documents, then money moving against them.
ORDER = (customers, items, invoices, credit_memos, payments, refunds, expenses)
BY_RECORD_TYPE = {m.RECORD_TYPE: m for m in ORDER}
