"""Demo data: Gansu's real organisation tree and synthetic case texts, for seeding a demo."""
