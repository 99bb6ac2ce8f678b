"""Settings and policy data: everything an office may change without a release."""
