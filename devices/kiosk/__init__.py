"""Self-checkout kiosks (contract kind ``kiosk``)."""
