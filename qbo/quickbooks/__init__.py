"""Everything that talks to or about QuickBooks Online: the connection, the sync, change detection, the problems found."""
