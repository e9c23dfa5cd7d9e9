"""The news app's models: bulletins and what they name (bulletins.py), projects (projects.py)."""

from news.models.bids import BidResult
from news.models.bulletins import (
    Bulletin,
    BulletinQuerySet,
    Category,
    Contact,
    ImportJob,
    LshBucket,
    Region,
    RegionQuerySet,
)
from news.models.projects import (
    Organization,
    Project,
    ProjectContact,
    ProjectMerge,
    ProjectParty,
    ProjectQuerySet,
    ProjectStageChange,
    Stage,
)

__all__ = [
    "BidResult",
    "Bulletin",
    "BulletinQuerySet",
    "Category",
    "Contact",
    "ImportJob",
    "LshBucket",
    "Organization",
    "Project",
    "ProjectContact",
    "ProjectMerge",
    "ProjectParty",
    "ProjectQuerySet",
    "ProjectStageChange",
    "Region",
    "RegionQuerySet",
    "Stage",
]
