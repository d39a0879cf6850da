"""The errors desk: what staff see and do (tabs, submit, bulk, export, actions, record panel) and its jobs."""


def __getattr__(name):
    # Old RQ path `qbo.desk.run_record_resync`, kept for one release (README "Upgrading"); loaded
    # only when RQ asks for it, so importing a desk module doesn't load all of them.
    if name == "run_record_resync":
        from qbo.desk.jobs import run_record_resync

        return run_record_resync
    raise AttributeError(name)
