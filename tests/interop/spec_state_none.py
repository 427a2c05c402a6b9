#!/usr/bin/env python3
"""spec_state_none.py - the spec's own client writing a state with last_error=None.

Usage: spec_state_none.py DATABASE_URL AGENT_ID

Writes, through SQLAlchemy as the spec's models do, the sample_agent_state
fixture of the spec's tests (status active, workflow data, one resource lock,
last_error=None) for the agent AGENT_ID, into a database that `optiinfra db
upgrade` made.  SQLAlchemy's JSON types write Python None as JSON null (their
none_as_null is False), not SQL NULL: the store must take it (revision
007_json_null) and read it back as absent.  Prints the new state's id.

DATABASE_URL is optiinfra's: sqlite:PATH or a libpq URL/key=value string.
"""
import sys
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, declarative_base

Base = declarative_base()
Json = sa.JSON().with_variant(JSONB(), "postgresql")


class AgentState(Base):
    """The columns of the spec's AgentState the fixture sets (the others have defaults)."""
    __tablename__ = "agent_states"
    id = sa.Column(sa.String, primary_key=True, default=lambda: str(uuid.uuid4()))
    agent_id = sa.Column(sa.String, nullable=False)
    status = sa.Column(sa.String, nullable=False)
    current_workflow = sa.Column(sa.String)
    workflow_data = sa.Column(Json)
    resource_locks = sa.Column(Json)
    error_count = sa.Column(sa.Integer)
    last_error = sa.Column(Json)
    # optiinfra keeps SQLite times as ISO 8601 text (docs/schema.md).
    last_heartbeat = sa.Column(sa.DateTime(timezone=True).with_variant(sa.String, "sqlite"))


def engine_for(url):
    if url.startswith("sqlite:"):
        path = url[len("sqlite:"):]
        path = path[2:] if path.startswith("//") else path
        return sa.create_engine("sqlite:///" + path)
    import psycopg2
    return sa.create_engine("postgresql+psycopg2://", creator=lambda: psycopg2.connect(url))


def main():
    url, agent_id = sys.argv[1], sys.argv[2]
    engine = engine_for(url)
    now = datetime.now(timezone.utc)
    beat = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if engine.dialect.name == "sqlite" else now
    with Session(engine) as session:
        state = AgentState(agent_id=agent_id, status="active", current_workflow="test_workflow",
                           workflow_data={"key": "value"}, resource_locks=["resource1"],
                           error_count=0, last_error=None, last_heartbeat=beat)
        session.add(state)
        session.commit()
        print(state.id)


if __name__ == "__main__":
    main()
