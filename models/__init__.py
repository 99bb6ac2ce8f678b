"""Every table, imported here so that Alembic and create_all see the whole metadata."""

from duban.models.account import AccountEvent
from duban.models.attachment import Attachment
from duban.models.audit import AuditEvent
from duban.models.case import Case, CaseCreate, CaseNumberSeq, Complainant, RepeatContact, Subject
from duban.models.document import Document
from duban.models.handling import REQUESTED, Callback, Decline, Extension, HandlingReport, Objection, Review
from duban.models.importing import ImportedRow
from duban.models.notification import Notification
from duban.models.org import Org, OrgPublic
from duban.models.pressure import CallbackTask, Interview, PressureProposal, PressureStep
from duban.models.public import PublicHit, QueryCode, ReplyRating
from duban.models.referral import Referral
from duban.models.review import ReviewRequest
from duban.models.search import SavedFilter
from duban.models.user import ApiToken, User

__all__ = [
    "REQUESTED",
    "AccountEvent",
    "ApiToken",
    "Attachment",
    "AuditEvent",
    "Callback",
    "CallbackTask",
    "Case",
    "CaseCreate",
    "CaseNumberSeq",
    "Complainant",
    "Decline",
    "Document",
    "Extension",
    "HandlingReport",
    "ImportedRow",
    "Interview",
    "Notification",
    "Objection",
    "Org",
    "OrgPublic",
    "PressureProposal",
    "PressureStep",
    "PublicHit",
    "QueryCode",
    "Referral",
    "ReplyRating",
    "RepeatContact",
    "Review",
    "ReviewRequest",
    "SavedFilter",
    "Subject",
    "User",
]
