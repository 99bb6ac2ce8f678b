"""The one layer that opens transactions and fires transitions. Everything else calls it."""

from duban.services.cases import CaseService, Registered
from duban.services.context import ENGINE_ACTOR, Actor, ServiceContext

__all__ = ["ENGINE_ACTOR", "Actor", "CaseService", "Registered", "ServiceContext"]
