"""Registering cases in bulk from offices' Excel and CSV ledgers (台账), through the service layer."""
