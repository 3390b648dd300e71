"""A local emulation of the HubSpot CRM API (v3 objects, search, properties, v4 associations).

Run it with ``python -m hubspot_sandbox --port 8900 --token TOKEN``; start it inside tests with
:func:`hubspot_sandbox.testing.run_sandbox`. It is a test double: the behaviour it copies is written down in
``HUBSPOT_API.md`` and every deliberate difference is listed in the README section "HubSpot sandbox".
It is kept apart from the Airflow code and imports nothing from it.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
