"""What every service call needs: the database, the clock, the calendars, the policy, the labels."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from duban.clock import Clock, SystemClock, local_date
from duban.config.policy import Labels, Policy, load_labels, load_policy
from duban.config.settings import Settings, get_settings
from duban.db import get_engine
from duban.files import private_dir
from duban.notify.templates import Templates, load_templates, packaged_templates
from duban.schema import require_current
from duban.services.auditkeys import KeyRing, default_keyring
from duban.services.directory import OrgDirectory, directory_for
from duban.services.filestore import FileStore, store_for
from duban.workcal import CalendarBook, WorkCalendar, load_calendar_book


@dataclass(frozen=True)
class Actor:
    """Who performs an action: a person with a role, optionally bound to an org (a unit's staff)."""

    name: str
    role: str
    org_id: int | None = None


ENGINE_ACTOR = Actor(name="duban", role="engine")


@dataclass
class ServiceContext:
    engine: Engine
    clock: Clock = field(default_factory=SystemClock)
    calendars: CalendarBook = field(default_factory=load_calendar_book)
    policy: Policy = field(default_factory=load_policy)
    labels: Labels = field(default_factory=load_labels)
    templates: Templates = field(default_factory=packaged_templates)  # notification emails
    # The audit trail's keys, outside the database (duban.services.auditkeys).
    audit_keys: KeyRing = field(default_factory=default_keyring)
    # Where attachments' bytes live (duban.services.filestore); None: the process settings' store.
    files: FileStore | None = None
    orgs: OrgDirectory = field(init=False)

    def __post_init__(self) -> None:
        self.orgs = directory_for(self.engine)

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, clock: Clock | None = None) -> ServiceContext:
        """The context of the configured database, which must be migrated already (SchemaNotCurrent)."""
        settings = settings or get_settings()
        private_dir(settings.data_dir, tighten=True)  # database, keys, backups: the owner's only
        engine = get_engine(settings.resolved_database_url)
        require_current(engine)
        return cls(
            engine=engine,
            clock=clock or SystemClock(),
            calendars=load_calendar_book(settings.override_dir),
            policy=load_policy(settings.override_dir),
            labels=load_labels(settings.override_dir),
            templates=load_templates(settings.override_dir),
            files=store_for(settings),
        )

    def now(self) -> dt.datetime:
        return self.clock.now()

    def today(self) -> dt.date:
        return local_date(self.clock.now())

    def calendar_for(self, org_code: str | None) -> WorkCalendar:
        return self.calendars.for_org(org_code)
