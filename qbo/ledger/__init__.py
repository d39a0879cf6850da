"""The firm's billing ledger: records, validation, numbering, JSON shapes. Imports nothing of QuickBooks."""
