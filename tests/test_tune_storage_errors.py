"""`fastnn tune --storage` failures are one line naming the storage, never a traceback and never
a password (issue #23): an SQLite file of a foreign schema, one opened read-only, an unreachable
PostgreSQL server whose URL carries a password."""

import sqlite3

import numpy as np
import pytest

pytest.importorskip("optuna")

from fastnn import cli
from fastnn import tune as ft

SECRET = "S3cr3t-pw-4711"


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.random((60, 4))
    np.savez(tmp_path / "d.npz", X=X, y=(X[:, 0] > 0.5).astype(int))
    return tmp_path / "d.npz"


def _tune(data, storage, *more):
    return cli.main(
        ["tune", "--data", str(data), "--trials", "1", "--epochs", "1", "--storage", storage, *more]
    )


def _foreign(path, tables):
    c = sqlite3.connect(path)
    for t in tables:
        c.execute(t)
    c.commit()
    c.close()


@pytest.mark.slow  # optuna + sqlalchemy imports, a study per case
@pytest.mark.parametrize(
    "setup",
    [
        ["create table trials(a int)"],  # optuna's table name, another schema
        ["create table alembic_version(version_num text)", "insert into alembic_version values ('zzz')"],
    ],
)
def test_foreign_sqlite_schema_is_one_line(tmp_path, data, capsys, setup):
    db = tmp_path / "foreign.db"
    _foreign(db, setup)
    code = _tune(data, f"sqlite:///{db}")
    err = capsys.readouterr().err
    assert code in (1, 2) and "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if "error" in ln]
    assert len(lines) == 1 and "storage:" in lines[0] and str(db) in lines[0], err


@pytest.mark.slow
def test_read_only_sqlite_is_one_line(tmp_path, data, capsys):
    db = tmp_path / "study.db"
    assert _tune(data, f"sqlite:///{db}", "-q") == 0
    capsys.readouterr()
    code = _tune(data, f"sqlite:///file:{db}?mode=ro&uri=true")
    err = capsys.readouterr().err
    assert code in (1, 2) and "Traceback" not in err and "readonly database" in err, err


@pytest.mark.slow
@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://fastnn:{SECRET}@127.0.0.1:1/db",  # nothing listens on port 1
        f"postgresql://fastnn:{SECRET}@127.0.0.1:abc/db",  # a port that is not a number
        f"postgresql+nosuchdriver://fastnn:{SECRET}@127.0.0.1/db",
        f"postgresql://fastnn:{SECRET.replace('-', '%2D')}@127.0.0.1:1/db",  # percent-encoded
    ],
)
def test_storage_password_never_printed(tmp_path, data, capsys, url):
    code = _tune(data, url, "--json", str(tmp_path / "out.json"))
    out, err = capsys.readouterr()
    assert code in (1, 2) and "Traceback" not in err
    assert "storage:" in err and "fastnn:***@" in err, err
    for text in (out, err):
        assert SECRET not in text and SECRET.replace("-", "%2D") not in text
    with pytest.raises(ValueError) as e:
        ft.open_study(url)
    assert SECRET not in str(e.value) and "***" in str(e.value)


def test_safe_url_masks_every_spelling():
    assert ft.safe_url(f"postgresql://u:{SECRET}@h/db") == "postgresql://u:***@h/db"
    assert ft.safe_url(f"postgresql://u:{SECRET}@x@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert ft.safe_url("sqlite:///a.db") == "sqlite:///a.db"
    assert ft.safe_url("postgresql://u@h/db") == "postgresql://u@h/db"
    e = ft.storage_error(ValueError(f"bad password {SECRET}"), f"postgresql://u:{SECRET}@h/db", "cannot open")
    assert SECRET not in str(e) and str(e).count("***") == 2


@pytest.mark.slow  # a PostgreSQL server of its own (tests/conftest.py)
def test_wrong_password_on_a_real_server_is_not_printed(
    postgres_server, postgres_url, data, tmp_path, capsys
):
    """The server answers (password authentication failed): the error names the storage, never the
    password given, nor the server's real one."""
    wrong = "Wr0ng-" + SECRET
    url = postgres_url.replace(f":{postgres_server.password}@", f":{wrong}@")
    assert wrong in url
    code = _tune(data, url, "--json", str(tmp_path / "out.json"))
    out, err = capsys.readouterr()
    assert code in (1, 2) and "Traceback" not in err and "storage:" in err, err
    for text in (out, err):
        assert wrong not in text and postgres_server.password not in text
    # and with the right password, the run's outputs carry no password either
    code = _tune(data, postgres_url, "--json", str(tmp_path / "ok.json"), "-q")
    out, err = capsys.readouterr()
    assert code == 0, err
    for text in (out, err, (tmp_path / "ok.json").read_text()):
        assert postgres_server.password not in text
