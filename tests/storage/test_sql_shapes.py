"""The SQL shapes the suite's coverage check compares: values and list lengths out, the rest kept."""

from __future__ import annotations

from tests.support.sql_shapes import shape


def test_values_and_list_lengths_do_not_make_a_new_shape() -> None:
    one = "SELECT a FROM t WHERE id IN (%(id_1_1)s::INTEGER) AND n = 3 AND s = 'x'  LIMIT 10"
    three = (
        "SELECT a FROM t\n WHERE id IN (%(id_1_1)s::INTEGER, %(id_1_2)s::INTEGER, "
        "%(id_1_3)s::INTEGER) AND n = 12 AND s = 'it''s' LIMIT 1"
    )
    assert shape(one) == shape(three)
    assert shape(one) == "SELECT a FROM t WHERE id IN (?::INTEGER, …) AND n = ? AND s = '?' LIMIT ?"
    two = "INSERT INTO t (a, b) VALUES (%(a_m0)s, %(b_m0)s), (%(a_m1)s, %(b_m1)s)"
    three = f"{two}, (%(a_m2)s, %(b_m2)s)"
    assert shape(two) == shape(three) == "INSERT INTO t (a, b) VALUES (?, …), …"
    # One row is SQLAlchemy's plain INSERT, several its batched form: two statements to cover.
    assert shape("INSERT INTO t (a, b) VALUES (%(a)s, %(b)s)") != shape(two)


def test_what_the_statement_does_stays_in_its_shape() -> None:
    assert shape("SELECT a FROM t WHERE b = %(b)s") != shape("SELECT a FROM t WHERE c = %(c)s")
    assert shape("SELECT a FROM t1") != shape("SELECT a FROM t2")  # digits in names are kept
    assert shape("UPDATE t SET a=%(a)s") != shape("UPDATE t SET a=%(a)s, b=%(b)s")
    assert shape("DELETE FROM t WHERE id = %(id)s::INTEGER") != shape(
        "DELETE FROM t WHERE id = %(id)s::VARCHAR"
    )
