"""Flask extensions, created unbound here and bound to the app in create_app."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, Table
from sqlalchemy.orm import DeclarativeBase

# Named constraints so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Every model is mapped to a Table (no mapping to a join or a select), so its __table__ is
    # one; SQLAlchemy types it as the wider FromClause, which has no insert() or update().
    __table__: ClassVar[Table]


db = SQLAlchemy(model_class=Base)

# The base class of every model. At run time it is Flask-SQLAlchemy's db.Model, a class built
# from Base. mypy cannot take a base class from an attribute of a variable (python/mypy#8603:
# 'Name "db.Model" is not defined'), so for the type checker it is Base, which declares the
# same mapping and metadata.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model

migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
