"""Every kind of chain break is caught, at the right file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.audit.events import build_line

from .conftest import KEY, OTHER_KEY, lines_of, write_lines


def _trail(make_log, n: int = 10, **kw):
    log = make_log(**kw)
    for i in range(n):
        log.log("read" if i % 3 else "write", f"svc/s{i % 4}", version=i)
    return log


def _only_break(report):
    assert not report.ok, report.summary()
    return report.first_break


def test_intact_trail_verifies(make_log) -> None:
    report = _trail(make_log, 25).verify()
    assert report.ok and report.events == 25 and report.issues == []
    assert report.summary().startswith("chain ok: 25 events")


def test_edited_line_is_caught_at_that_line(make_log, log_path: Path) -> None:
    log = _trail(make_log)
    lines = lines_of(log_path)
    lines[4] = lines[4].replace(b'"operation": "read"', b'"operation": "list"')
    write_lines(log_path, lines)
    brk = _only_break(log.verify())
    assert (brk.file, brk.line, brk.kind) == ("secrets_audit.log", 5, "edited")
    assert len(log.verify().issues) == 1


def test_edit_of_success_flag_is_caught(make_log, log_path: Path) -> None:
    log = make_log()
    log.log("read", "a")
    log.log("read", "a", success=False, error_message="denied")
    log.log("read", "a")
    lines = lines_of(log_path)
    lines[1] = lines[1].replace(b'"success": false', b'"success": true ')
    write_lines(log_path, lines)
    brk = _only_break(log.verify())
    assert (brk.line, brk.kind) == (2, "edited")


def test_deleted_line_is_caught_where_the_gap_is(make_log, log_path: Path) -> None:
    log = _trail(make_log)
    lines = lines_of(log_path)
    del lines[6]
    write_lines(log_path, lines)
    brk = _only_break(log.verify())
    assert (brk.line, brk.kind) == (7, "deleted")
    assert "seq 7" in brk.reason


def test_deleted_first_line_is_caught(make_log, log_path: Path) -> None:
    log = _trail(make_log)
    write_lines(log_path, lines_of(log_path)[1:])
    brk = _only_break(log.verify())
    assert (brk.line, brk.kind) == (1, "deleted")


def test_inserted_forged_line_is_caught(make_log, log_path: Path) -> None:
    log = _trail(make_log)
    lines = lines_of(log_path)
    prev = json.loads(lines[2])
    body = {k: v for k, v in prev.items() if k not in ("seq", "kid", "chain")}
    body["operation"] = "delete"
    # forged with the wrong key, posing as the next line
    forged, _ = build_line(body, 4, prev["kid"], OTHER_KEY, prev["chain"])
    lines.insert(3, forged.rstrip(b"\n"))
    write_lines(log_path, lines)
    report = log.verify()
    brk = _only_break(report)
    assert (brk.line, brk.kind) == (4, "inserted")
    assert len(report.issues) == 1


def test_inserted_foreign_json_line_is_caught(make_log, log_path: Path) -> None:
    log = _trail(make_log)
    lines = lines_of(log_path)
    lines.insert(5, b'{"secret_name": "x", "operation": "read", "success": true}')
    write_lines(log_path, lines)
    brk = _only_break(log.verify())
    assert (brk.line, brk.kind) == (6, "foreign")
    # not fatal to queries: the other events are all still there
    assert len(log.get_audit_events()) == 10


def test_corrupt_bytes_are_caught_and_not_fatal(make_log, log_path: Path) -> None:
    log = _trail(make_log)
    lines = lines_of(log_path)
    lines.insert(2, b"\x00\x01garbage")
    write_lines(log_path, lines)
    brk = _only_break(log.verify())
    assert (brk.line, brk.kind) == (3, "corrupt")
    assert len(log.get_audit_events(secret_name="svc/s1")) == 3


def test_reordered_lines_are_caught(make_log, log_path: Path) -> None:
    log = _trail(make_log)
    lines = lines_of(log_path)
    lines[3], lines[4] = lines[4], lines[3]
    write_lines(log_path, lines)
    report = log.verify()
    brk = _only_break(report)
    assert (brk.line, brk.kind) == (4, "reordered")
    assert {i.kind for i in report.issues} == {"reordered"}


def test_duplicated_line_is_caught(make_log, log_path: Path) -> None:
    log = _trail(make_log)
    lines = lines_of(log_path)
    lines.insert(5, lines[4])
    write_lines(log_path, lines)
    brk = _only_break(log.verify())
    assert (brk.line, brk.kind) == (6, "duplicate")


def test_truncated_end_is_caught(make_log, log_path: Path) -> None:
    log = _trail(make_log)
    write_lines(log_path, lines_of(log_path)[:7])
    brk = _only_break(log.verify())
    assert (brk.line, brk.kind) == (8, "truncated")
    assert "3 lines cut" in brk.reason


def test_last_line_cut_in_the_middle_is_truncation(make_log, log_path: Path) -> None:
    log = _trail(make_log)
    data = log_path.read_bytes()
    log_path.write_bytes(data[:-40])
    report = log.verify()
    assert not report.ok
    assert report.first_break.kind == "truncated"
    assert [w.kind for w in report.warnings] == ["torn"]


def test_crash_torn_line_is_repaired_and_only_a_warning(make_log, log_path: Path) -> None:
    log = _trail(make_log, 5)
    # a crash in the middle of a write leaves a fragment without newline; the head
    # record was not updated (it is written after the line)
    with open(log_path, "ab") as fh:
        fh.write(b'{"timestamp": "2024-01-15T10:30:00.000000+00:00", "operation": "re')
    report = log.verify()
    assert report.ok and [w.kind for w in report.warnings] == ["torn"]
    # the next write terminates the fragment and records its length: still ok
    event = log.log("read", "after-crash")
    assert event["seq"] == 6 and event["torn"] > 0
    report = log.verify()
    assert report.ok, report.summary()
    assert [(w.kind, w.line) for w in report.warnings] == [("torn", 6)]
    assert log.get_audit_events(secret_name="after-crash")[0]["seq"] == 6


def test_missing_head_record_is_reported(make_log, log_path: Path) -> None:
    log = _trail(make_log, 3)
    log.close()
    log_path.with_name("secrets_audit.state").unlink()
    brk = _only_break(log.verify())
    assert brk.kind == "truncated" and "head record" in brk.reason


def test_writer_notes_a_log_shorter_than_its_head(make_log, log_path: Path) -> None:
    log = _trail(make_log, 6)
    write_lines(log_path, lines_of(log_path)[:3])
    event = log.log("read", "x")
    assert event["seq"] == 8  # numbering continues after the cut lines
    notes = log.get_audit_events(operation="audit_integrity")
    assert len(notes) == 1 and "head record says 6" in notes[0]["error_message"]
    report = log.verify()
    assert report.first_break.kind == "deleted" and report.first_break.line == 4


def test_line_from_another_vault_key_is_caught(make_log, log_path: Path) -> None:
    _trail(make_log, 3)
    stranger = make_log(key=OTHER_KEY)
    stranger.log("read", "x")
    mine = make_log()
    brk = _only_break(mine.verify())
    assert (brk.line, brk.kind) == (4, "wrong-key")


def test_keyless_lines_are_sealed_by_the_next_keyed_line(make_log, log_path: Path) -> None:
    _trail(make_log, 2)
    locked = make_log(key=None)
    locked.log("unlock", success=False, error_message="wrong passphrase")
    locked.log("unlock", success=False, error_message="wrong passphrase")
    keyed = make_log()
    keyed.log("unlock")
    assert keyed.verify().ok
    # someone rewrites a keyless line and recomputes the unkeyed hashes after it:
    # the keyed line that follows still catches it
    from core.audit.events import parse_trailer

    lines = lines_of(log_path)
    doc = json.loads(lines[2])
    body = {k: v for k, v in doc.items() if k not in ("seq", "kid", "chain")}
    body["success"] = True
    prev = json.loads(lines[1])["chain"]
    new2, chain2 = build_line(body, 3, None, None, prev)
    doc4 = json.loads(lines[3])
    body4 = {k: v for k, v in doc4.items() if k not in ("seq", "kid", "chain")}
    new3, _ = build_line(body4, 4, None, None, chain2)
    lines[2], lines[3] = new2.rstrip(b"\n"), new3.rstrip(b"\n")
    write_lines(log_path, lines)
    assert parse_trailer(lines[2]) is not None
    brk = _only_break(keyed.verify())
    assert (brk.line, brk.kind) == (5, "edited")
    assert "keyless" in brk.reason


def test_verify_without_key_checks_structure_only(make_log, log_path: Path) -> None:
    log = _trail(make_log, 4)
    report = make_log(key=None).verify()
    assert report.ok and not report.keyed and report.unchecked == 4
    lines = lines_of(log_path)
    del lines[1]
    write_lines(log_path, lines)
    assert make_log(key=None).verify().first_break.kind == "deleted"
    assert log.verify().first_break.line == 2


def test_incremental_verify_resumes_from_cursor(make_log) -> None:
    log = _trail(make_log, 5)
    first = log.verify()
    assert first.ok and first.cursor is not None
    for _ in range(3):
        log.log("read", "more")
    again = log.verify(resume=first.cursor)
    assert again.ok and again.events == 8 and again.lines == 8
    assert again.cursor is not None and again.cursor.offset > first.cursor.offset


@pytest.mark.parametrize("kind", ["edited", "deleted"])
def test_break_in_a_rotated_segment_names_that_file(make_log, log_path: Path, kind) -> None:
    log = make_log(max_bytes=2048)
    for i in range(40):
        log.log("read", f"svc/{i}")
    seg = log_path.with_name("secrets_audit.log.2")
    lines = lines_of(seg)
    if kind == "edited":
        lines[1] = lines[1].replace(b'"read"', b'"list"')
    else:
        del lines[1]
    write_lines(seg, lines)
    brk = _only_break(log.verify())
    assert (brk.file, brk.line, brk.kind) == ("secrets_audit.log.2", 2, kind)


def test_verify_report_serialises(make_log) -> None:
    doc = _trail(make_log, 2).verify().to_dict()
    json.dumps(doc)
    assert doc["ok"] is True and doc["first_break"] is None and "summary" in doc
    assert KEY.hex() not in json.dumps(doc)


def test_isolated_verify_matches_and_keeps_the_key_out_of_argv(
    make_log, log_path: Path, monkeypatch
) -> None:
    import subprocess

    log = _trail(make_log, 12)
    lines = lines_of(log_path)
    lines[7] = lines[7].replace(b'"read"', b'"list"')
    write_lines(log_path, lines)
    seen: list[list[str]] = []
    real = subprocess.Popen

    def spy(argv, *a, **kw):
        seen.append(list(argv))
        return real(argv, *a, **kw)

    monkeypatch.setattr(subprocess, "Popen", spy)
    steps: list[tuple[int, int]] = []
    isolated = log.verify(isolated=True, progress=lambda d, t: steps.append((d, t)))
    local = log.verify()
    assert isolated.to_dict() == local.to_dict()
    assert (isolated.first_break.line, isolated.first_break.kind) == (8, "edited")
    assert isolated.cursor == local.cursor
    assert steps and steps[-1][0] == steps[-1][1]
    assert seen and all(KEY.hex() not in " ".join(argv) for argv in seen)
