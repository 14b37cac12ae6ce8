"""Entry/exit doors and turnstiles (contract kind ``door``)."""
