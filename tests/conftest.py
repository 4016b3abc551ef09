"""Shared test fixtures: paths to the real NIST files shipped in tests/fixtures.

Helpers shared between test directories live in tests/support/ (imported as
``tests.support.*``); fixtures shared between them are plugins listed here."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests.support.cluster"]

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
TOPICS = REPO / "topics"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def qrels_2021() -> Path:
    """NIST's real 2021 qrels (topics 1661-1680, strata 1-3)."""
    return FIXTURES / "trecvid" / "avs.qrels.main.tv21"


@pytest.fixture(scope="session")
def run_2021() -> Path:
    """A real 2021 submission (RUCMM) in TREC run format."""
    return FIXTURES / "trecvid" / "tv21.RUCMM.trec"


@pytest.fixture(scope="session")
def topics_dir() -> Path:
    return TOPICS
