"""kn path, tag, rm (and --undo), edit, and check --duplicates: what changes an article
changes only what it says, whole or not at all, never through a link."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import resource
import signal
import stat
import subprocess
import sys
import threading
import time
import unicodedata
from pathlib import Path

import pytest

from conftest import SEED_ID, article

SEED = f"articles/2017/{SEED_ID}.txt"


def files(root: Path) -> dict[str, bytes]:
    """Every file below root, hidden ones included, by relative path."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


# --- kn path ---------------------------------------------------------------------------


def test_path_prints_each_named_articles_path_and_names_the_unknown(kn, seed_archive):
    result = kn("path", "2017-08-07-north", "nowhere", "north-korea-calls")
    assert result.exit_code == 2
    assert result.stdout == f"{SEED}\n{SEED}\n"
    assert result.stderr.startswith("kn: nowhere: no such article")


def test_an_empty_name_is_no_article_even_where_one_article_starts_with_it(kn, seed_archive):
    """`kn rm --yes "$ID"` with ID unset must not remove the archive's only article."""
    for command in (["path"], ["show"], ["facts"], ["rm", "--yes"], ["tag"]):
        result = kn(*command, "", *(["+x"] if command == ["tag"] else []))
        assert (result.exit_code, result.stdout) == (2, ""), command
        assert result.stderr == "kn: an empty name names no article\n"
    assert kn("path", SEED_ID).stdout == f"{SEED}\n"


def test_path_reads_names_from_stdin(kn, seed_archive):
    result = kn("path", "-", input=f"{SEED_ID}\n\n")
    assert (result.exit_code, result.stdout) == (0, f"{SEED}\n")


def test_path_and_check_print_json_for_jq(kn, make_archive):
    make_archive({"a.txt": article("A", body=body()), "b.txt": article("B", body=body())})
    make_archive({"c.txt": "no front matter\n"})
    paths = kn("path", "a", "b", "--format", "jsonl")
    assert [json.loads(line) for line in paths.stdout.splitlines()] == [
        {"id": "a", "path": "articles/a.txt"},
        {"id": "b", "path": "articles/b.txt"},
    ]
    pairs = kn("check", "--duplicates", "--format", "json")
    assert json.loads(pairs.stdout) == [{"ids": ["a", "b"], "similarity": 1.0}]
    problems = kn("check", "--format", "json")
    assert problems.exit_code == 1
    [problem] = json.loads(problems.stdout)
    assert (problem["path"], problem["line"]) == ("articles/c.txt", 1) and problem["message"]


# --- kn tag ----------------------------------------------------------------------------


def test_tag_rewrites_only_the_tags_line(kn, seed_archive):
    path = seed_archive / "2017" / f"{SEED_ID}.txt"
    before = path.read_bytes()
    result = kn("tag", "2017-08-07-north", "+coal", "-SANCTIONS", "+North-Korea")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    old = b"tags: [north-korea, south-korea, sanctions, united-nations]\n"
    new = b"tags: [north-korea, south-korea, united-nations, coal]\n"
    assert path.read_bytes() == before.replace(old, new)
    assert kn("list", "--tag", "coal").stdout.startswith(SEED_ID)


def test_tag_adds_a_tags_entry_after_the_known_fields_and_removes_it_when_empty(kn, make_archive):
    text = "---\r\ntitle: T\r\ndate: 2017-01-01\r\nsource: S\r\n# a comment\r\nregion: x # kept\r\n---\r\nBody\r\n"
    root = make_archive({"2017/a.txt": b"\xef\xbb\xbf" + text.encode()})
    assert kn("tag", "a", "+one two", "+yes", "+1984").exit_code == 0
    tagged = text.replace("source: S\r\n", "source: S\r\ntags: [one two, 'yes', '1984']\r\n")
    assert (root / "2017" / "a.txt").read_bytes() == b"\xef\xbb\xbf" + tagged.encode()
    assert kn("list", "--format", "json").stdout.count('"tags": [\n') == 1
    assert kn("tag", "a", "-one two", "-yes", "-1984").exit_code == 0
    assert (root / "2017" / "a.txt").read_bytes() == b"\xef\xbb\xbf" + text.encode()


def test_tag_rewrites_a_block_list_and_leaves_an_untouched_file_as_it_is(kn, make_archive):
    text = "---\ntitle: T\ndate: 2017-01-01\ntags:\n  - a\n  - b\nnote: |\n  kept\n---\nBody\n"
    root = make_archive({"a.txt": text})
    os.utime(root / "a.txt", (1, 1))
    assert kn("tag", "a", "+A", "-c").exit_code == 0  # a tag there already, in any case
    assert (root / "a.txt").stat().st_mtime == 1  # not even written
    assert kn("tag", "a", "-b", "+c").exit_code == 0
    assert (root / "a.txt").read_text() == text.replace("tags:\n  - a\n  - b\n", "tags: [a, c]\n")


def test_tag_knows_a_tag_however_its_accents_and_syllables_are_composed(kn, make_archive):
    text = "---\ntitle: T\ndate: 2017-01-01\ntags: [Café, 북한]\n---\nBody\n"
    root = make_archive({"a.txt": text})
    os.utime(root / "a.txt", (1, 1))
    nfd = [unicodedata.normalize("NFD", tag) for tag in ("+café", "+북한")]  # as macOS may type
    assert kn("tag", "a", *nfd).exit_code == 0
    assert (root / "a.txt").stat().st_mtime == 1  # there already: not written
    assert kn("tag", "a", *(f"-{tag[1:]}" for tag in nfd)).exit_code == 0
    assert (root / "a.txt").read_text() == text.replace("tags: [Café, 북한]\n", "")


def test_tag_of_anchored_tags_an_alias_repeats_sends_to_kn_edit(kn, make_archive):
    text = "---\ntitle: T\ndate: 2017-01-01\ntags: &t [a]\nkeywords: *t\n---\nBody\n"
    root = make_archive({"a.txt": text})
    result = kn("tag", "a", "+b")
    assert result.exit_code == 2 and "change them with kn edit" in result.stderr
    assert (root / "a.txt").read_text() == text and kn("check").exit_code == 0


def test_tag_keeps_the_blank_and_comment_lines_after_a_block_list(kn, make_archive):
    text = "---\ntitle: T\ndate: 2017-01-01\ntags:\n  - a\n\n# the source:\nsource: S\n---\nBody\n"
    root = make_archive({"a.txt": text})
    assert kn("tag", "a", "+b").exit_code == 0
    assert (root / "a.txt").read_text() == text.replace("tags:\n  - a\n", "tags: [a, b]\n")


def test_tag_keeps_the_files_mode(kn, make_archive):
    root = make_archive({"a.txt": article("T")})
    (root / "a.txt").chmod(0o640)
    assert kn("tag", "a", "+x").exit_code == 0
    assert stat.S_IMODE((root / "a.txt").stat().st_mode) == 0o640


def test_tag_names_each_bad_article_and_tags_the_others(kn, make_archive):
    root = make_archive({"a.txt": article("A"), "bad.txt": "---\ntitle: T\n---\nBody\n"})
    before = files(root)["bad.txt"]
    result = kn("tag", "bad", "nowhere", "a", "+x")
    assert result.exit_code == 2
    first, second = result.stderr.splitlines()  # names are resolved first, then each tagged
    assert first.startswith("kn: nowhere: no such article")
    assert second == "kn: articles/bad.txt:1: date is missing"
    assert files(root)["bad.txt"] == before and b"tags: [x]" in files(root)["a.txt"]


@pytest.mark.parametrize("words", [["a"], ["+x"], ["a", "+"], ["a", "- "]])
def test_tag_needs_articles_and_tags(kn, make_archive, words):
    make_archive({"a.txt": article("A")})
    result = kn("tag", *words)
    assert result.exit_code == 2 and result.stderr.startswith("kn: ")
    assert result.stderr.count("\n") == 1


def test_tag_takes_an_empty_word_for_an_article_as_it_starts_with_neither_sign(kn, make_archive):
    make_archive({"a.txt": article("A")})
    result = kn("tag", "a", "")
    assert result.exit_code == 2 and "give ARTICLE... and +TAG or -TAG" in result.stderr


def test_tag_reads_names_from_stdin(kn, make_archive):
    root = make_archive({"a.txt": article("A"), "b.txt": article("B")})
    assert kn("tag", "-", "+x", input="a\nb\n").exit_code == 0
    assert all(b"tags: [x]" in data for data in files(root).values())


# --- kn rm and kn rm --undo --------------------------------------------------------------


def test_rm_moves_articles_to_the_trash_and_undo_puts_them_back(kn, make_archive, tmp_path):
    root = make_archive({"2017/a.txt": article("A"), "b.txt": article("B"), "c.txt": article("C")})
    before = files(root)
    result = kn("rm", "--yes", "a", "b")
    assert result.exit_code == 0 and result.stdout == ""
    assert "moved 2 article(s) to articles-trash/" in result.stderr
    assert kn("list").stdout.split("\t")[0] == "c"
    [batch] = (tmp_path / "articles-trash").iterdir()
    assert files(batch) == {"2017/a.txt": before["2017/a.txt"], "b.txt": before["b.txt"]}
    undone = kn("rm", "--undo")
    assert (undone.exit_code, undone.stdout) == (0, "articles/b.txt\narticles/2017/a.txt\n")
    assert files(root) == before and list((tmp_path / "articles-trash").iterdir()) == []
    again = kn("rm", "--undo")
    assert again.exit_code == 2 and "nothing to undo" in again.stderr


def test_undo_puts_back_the_last_rm_and_leaves_an_id_taken_again(kn, make_archive, tmp_path):
    make_archive({"a.txt": article("A"), "b.txt": article("B")})
    kn("rm", "--yes", "a")
    time.sleep(0.01)
    kn("rm", "--yes", "b")
    (tmp_path / "articles" / "b.txt").write_text(article("New B"))
    result = kn("rm", "--undo")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("kn: articles-trash/")
    assert result.stderr.endswith("/b.txt: its ID is taken again: left in the trash\n")
    assert (tmp_path / "articles" / "b.txt").read_text() == article("New B")
    assert kn("list").stdout.startswith("b\t") and "a\t" not in kn("list").stdout


def test_rm_moves_an_article_open_elsewhere(kn, make_archive):
    root = make_archive({"a.txt": article("A")})
    with open(root / "a.txt", encoding="utf-8") as reading:
        assert kn("rm", "--yes", "a").exit_code == 0
        assert reading.read() == article("A")
    assert not (root / "a.txt").exists()


def test_rm_asks_nothing_in_a_pipe_without_yes_and_removes_nothing(kn, make_archive):
    root = make_archive({"a.txt": article("A")})
    result = kn("rm", "a")
    assert result.exit_code == 2 and "give --yes" in result.stderr
    assert "a.txt" in files(root)


def test_rm_removes_nothing_when_a_name_is_unknown(kn, make_archive):
    root = make_archive({"a.txt": article("A")})
    result = kn("rm", "--yes", "a", "nowhere")
    assert result.exit_code == 2 and "nowhere: no such article" in result.stderr
    assert "a.txt" in files(root)


def answered(
    args: list[str], question: bytes, answer: bytes, code: int, cwd: Path, env: dict[str, str]
) -> bytes:
    """What kn run on a terminal showed, once asked `question` and given `answer`; it
    must exit with `code`."""
    import pty

    from conftest import KN

    master, slave = pty.openpty()
    process = subprocess.Popen(
        [KN, *args], stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env
    )
    os.close(slave)
    screen = b""
    while question not in screen:
        screen += os.read(master, 1024)
    os.write(master, answer)
    assert process.wait(timeout=60) == code
    with contextlib.suppress(OSError):
        while chunk := os.read(master, 4096):
            screen += chunk
    os.close(master)
    return screen


@pytest.mark.parametrize(("answer", "code", "kept"), [(b"n\r", 1, True), (b"y\r", 0, False)])
def test_rm_asks_on_a_terminal(make_archive, tmp_path, process_env, answer, code, kept):
    root = make_archive({"a.txt": article("A")})
    screen = answered(["rm", "a"], b"[y/N]", answer, code, tmp_path, process_env)
    assert b"articles/a.txt\r\nMove 1 article(s) to the trash? [y/N]" in screen
    assert ("a.txt" in files(root)) == kept


def test_an_undo_after_a_rm_that_failed_puts_back_the_last_rm_that_moved_articles(
    kn, make_archive, monkeypatch
):
    root = make_archive({"2020/a.txt": article("A"), "2020/b.txt": article("B")})
    assert kn("rm", "--yes", "a").exit_code == 0

    def refused(*args: object, **kwargs: object) -> None:  # as a trash on another disk
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))

    with monkeypatch.context() as patched:
        patched.setattr(os, "rename", refused)
        failed = kn("rm", "--yes", "b")
    assert (failed.exit_code, failed.stderr) == (
        2,
        "kn: articles/2020/b.txt: cannot move it to the trash: Invalid cross-device link\n",
    )
    undo = kn("rm", "--undo")
    assert (undo.exit_code, undo.stdout) == (0, "articles/2020/a.txt\n")
    assert sorted(p.name for p in root.rglob("*.txt")) == ["a.txt", "b.txt"]
    assert kn("rm", "--undo").stderr.startswith("kn: nothing to undo")


def test_rm_of_a_link_moves_the_link_and_undo_restores_it(kn, make_archive):
    root = make_archive({"real.txt": article("Real")})
    os.symlink("real.txt", root / "link.txt")
    kn("check")
    assert kn("rm", "--yes", "link").exit_code == 0
    assert not os.path.lexists(root / "link.txt") and (root / "real.txt").exists()
    assert kn("rm", "--undo").exit_code == 0
    assert os.readlink(root / "link.txt") == "real.txt"


# --- kn edit -----------------------------------------------------------------------------


def editor(tmp_path: Path, script: str) -> dict[str, str]:
    """An EDITOR that runs a Python script on the file it is given."""
    path = tmp_path / "editor.py"
    path.write_text(f"import sys\nfrom pathlib import Path\nfile = Path(sys.argv[1])\n{script}\n")
    return {"EDITOR": f"{sys.executable} {path}", "VISUAL": ""}


def test_edit_replaces_the_file_with_the_edited_text_keeping_its_mode(kn, seed_archive, tmp_path):
    path = seed_archive / "2017" / f"{SEED_ID}.txt"
    path.chmod(0o600)
    before = path.read_bytes()
    script = "file.write_text(file.read_text().replace('insincere', 'sincere'))"
    result = kn("edit", "north-korea", env=editor(tmp_path, script))
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert path.read_bytes() == before.replace(b"insincere", b"sincere")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_an_edit_of_the_title_keeps_the_id(kn, seed_archive, tmp_path):
    script = "file.write_text(file.read_text().replace('title: North', 'title: South'))"
    assert kn("edit", SEED_ID, env=editor(tmp_path, script)).exit_code == 0
    assert kn("list").stdout.startswith(f"{SEED_ID}\t2017-08-07\tBBC News\tSouth Korea calls")


def test_an_edit_into_bad_yaml_names_the_line_and_saves_nothing(kn, seed_archive, tmp_path):
    path = seed_archive / "2017" / f"{SEED_ID}.txt"
    before = path.read_bytes()
    script = "file.write_text(file.read_text().replace('tags: [', 'tags: [[', 1))"
    result = kn("edit", SEED_ID, env=editor(tmp_path, script))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"kn: {SEED}:6: YAML: did not find expected ',' or ']'\n")
    assert path.read_bytes() == before


def test_an_edit_that_is_no_article_is_not_saved_and_kept_aside(kn, seed_archive, tmp_path):
    path = seed_archive / "2017" / f"{SEED_ID}.txt"
    before = path.read_bytes()
    result = kn("edit", SEED_ID, env=editor(tmp_path, "file.write_text('no front matter')"))
    assert result.exit_code == 2
    first, second = result.stderr.splitlines()
    assert first == f"kn: {SEED}:1: no front matter: the first line must be ---"
    assert second.startswith(f"kn: {SEED} is unchanged; the edited text is kept in ")
    assert path.read_bytes() == before
    assert Path(second.rsplit(" ", 1)[1]).read_text() == "no front matter"


def test_an_edit_that_removes_the_copy_keeps_nothing_aside(kn, seed_archive, tmp_path):
    path = seed_archive / "2017" / f"{SEED_ID}.txt"
    before = path.read_bytes()
    result = kn("edit", SEED_ID, env=editor(tmp_path, "file.unlink()"))
    assert result.exit_code == 2 and "kept in" not in result.stderr
    assert result.stderr.endswith(f"kn: {SEED} is unchanged\n")
    assert path.read_bytes() == before


@pytest.mark.parametrize(("answer", "code"), [(b"y\r", 0), (b"n\r", 2)])
def test_an_invalid_edit_on_a_terminal_asks_to_edit_again(
    seed_archive, tmp_path, process_env, answer, code
):
    """As crontab -e does: the problem, then the question; yes opens the editor again on
    the edited text, no keeps the article as it was and the edited text aside."""
    path = seed_archive / "2017" / f"{SEED_ID}.txt"
    before = path.read_bytes()
    script = (
        "runs = Path(sys.argv[0]).with_suffix('.runs')\n"
        "count = int(runs.read_text()) + 1 if runs.exists() else 1\n"
        "runs.write_text(str(count))\n"
        "text = file.read_text()\n"
        "file.write_text(text.replace('tags: [', 'tags: [[', 1) if count == 1 else"
        " text.replace('tags: [[', 'tags: [', 1).replace('insincere', 'sincere'))"
    )
    env = {**process_env, **editor(tmp_path, script)}
    screen = answered(["edit", SEED_ID], b"[Y/n]", answer, code, tmp_path, env)
    problem = f"kn: {SEED}:6: YAML: did not find expected ',' or ']'\r\nEdit it again? [Y/n]"
    assert problem.encode() in screen
    assert (tmp_path / "editor.runs").read_text() == ("2" if code == 0 else "1")
    if code == 0:
        assert path.read_bytes() == before.replace(b"insincere", b"sincere")
    else:
        assert path.read_bytes() == before
        assert b"is unchanged; the edited text is kept in " in screen


def test_edit_mends_an_article_that_could_not_be_read(kn, make_archive, tmp_path):
    root = make_archive({"bad.txt": "---\ntitle: T\n---\nBody\n"})
    script = "file.write_text(file.read_text().replace('title: T', 'title: T\\ndate: 2020-01-01'))"
    assert kn("edit", "bad", env=editor(tmp_path, script)).exit_code == 0
    assert (root / "bad.txt").read_text() == "---\ntitle: T\ndate: 2020-01-01\n---\nBody\n"
    assert kn("check").exit_code == 0


def test_an_editor_that_fails_changes_nothing(kn, seed_archive, tmp_path):
    path = seed_archive / "2017" / f"{SEED_ID}.txt"
    before = path.read_bytes()
    result = kn("edit", SEED_ID, env={"EDITOR": "false", "VISUAL": ""})
    assert result.exit_code == 2 and "the editor 'false' failed" in result.stderr
    assert path.read_bytes() == before


def test_an_edit_with_no_room_for_its_copy_leaves_no_part_of_it(seed_archive, own_home):
    path = seed_archive / "2017" / f"{SEED_ID}.txt"
    before = path.read_bytes()

    def full_disk() -> None:  # no file may grow past 1000 bytes
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    env = {**os.environ, "KN_ARCHIVE": str(seed_archive), "EDITOR": "true", "VISUAL": ""}
    command = [sys.executable, "-m", "korea_news", "edit", SEED_ID]
    result = subprocess.run(command, env=env, preexec_fn=full_disk, capture_output=True)
    assert (result.returncode, result.stderr) == (2, b"kn: cannot write: File too large\n")
    assert path.read_bytes() == before
    assert not any((own_home / "tmp").iterdir())  # no copy cut at 1000 bytes


def test_an_article_changed_while_edited_is_not_overwritten(kn, seed_archive, tmp_path):
    path = seed_archive / "2017" / f"{SEED_ID}.txt"
    script = f"file.write_text(file.read_text() + 'more')\nPath({str(path)!r}).write_text('other')"
    result = kn("edit", SEED_ID, env=editor(tmp_path, script))
    assert result.exit_code == 2 and "changed meanwhile" in result.stderr
    assert path.read_text() == "other"


def test_visual_comes_before_editor(kn, seed_archive, tmp_path):
    env = editor(tmp_path, "file.write_text(file.read_text() + 'more\\n')")
    env = {"VISUAL": env["EDITOR"], "EDITOR": "false"}
    assert kn("edit", SEED_ID, env=env).exit_code == 0
    assert kn("show", SEED_ID).stdout.endswith("more\n")


# --- writes never follow links out of the archive -----------------------------------------


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])  # a dry run tells it as the add
def test_add_refuses_a_year_folder_that_is_a_link_out_of_the_archive(
    kn, make_archive, tmp_path, dry_run
):
    root = make_archive({})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, root / "2020")
    result = kn("add", "-", "--date", "2020-01-01", *dry_run, input="Title\n\nBody.\n")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "kn: -: articles/2020 is a symbolic link: kn writes only into the archive's own folders\n"
    )
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
def test_add_refuses_a_file_where_the_year_folder_should_be(kn, make_archive, dry_run):
    root = make_archive({"2020": "not a folder"})
    result = kn("add", "-", "--date", "2020-01-01", *dry_run, input="Title\n\nBody.\n")
    assert (result.exit_code, result.stdout) == (2, "")
    assert (
        result.stderr == "kn: -: articles/2020 is a file where a folder should be: move it away\n"
    )
    assert (root / "2020").read_text() == "not a folder"


def test_a_dry_run_into_a_new_year_makes_no_folder(kn, make_archive):
    root = make_archive({})
    result = kn("add", "-", "--date", "2020-01-01", "--dry-run", input="Title\n\nBody.\n")
    assert result.exit_code == 0 and result.stdout.endswith("\tnew\n")
    assert list(root.iterdir()) == []


def test_undo_refuses_a_folder_that_became_a_link(kn, make_archive, tmp_path):
    root = make_archive({"2020/a.txt": article("A")})
    kn("rm", "--yes", "a")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.rmdir(root / "2020")
    os.symlink(elsewhere, root / "2020")
    result = kn("rm", "--undo")
    assert result.exit_code == 2 and "is a symbolic link" in result.stderr
    assert list(elsewhere.iterdir()) == []


# --- a killed kn leaves every article whole ------------------------------------------------


def kn_process(archive: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    environ = {**os.environ, "KN_ARCHIVE": str(archive), "KN_NO_CACHE": "1", **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "korea_news", *args],
        env=environ,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


BIG = ("word " * 20 + "\n") * 400_000  # 40 MB: long enough to be killed while written


@pytest.mark.parametrize("command", ["tag", "edit"])
def test_a_killed_tag_or_edit_leaves_the_old_file_or_the_new_one(make_archive, tmp_path, command):
    root = make_archive({})
    path = root / "big.txt"
    old = article("Big", body=BIG).encode()
    script = tmp_path / "editor.py"
    script.write_text("import sys\nopen(sys.argv[1], 'a').write('more\\n')\n")
    env = {"EDITOR": f"{sys.executable} {script}", "VISUAL": ""}
    args = ["tag", "big", "+x"] if command == "tag" else ["edit", "big"]
    new = old.replace(b"date: 2017-08-07\n", b"date: 2017-08-07\ntags: [x]\n")
    new = new if command == "tag" else old + b"more\n"
    for delay in (0.1, 0.3, 0.6, 1.0, 1.5):
        path.write_bytes(old)
        process = kn_process(root, *args, env=env)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert [p.name for p in root.iterdir()] == ["big.txt"]  # no temporary left
        assert path.read_bytes() in (old, new)
    path.write_bytes(old)
    assert kn_process(root, *args, env=env).wait(timeout=120) == 0
    assert path.read_bytes() == new


def test_two_tags_of_one_article_at_once_never_lose_one_unsaid(make_archive, monkeypatch):
    from korea_news import curate, write
    from korea_news.archive import Archive
    from korea_news.model import KnError

    root = make_archive({"a.txt": article("A")})
    create, second_done, outcome = write.create, threading.Event(), {}

    def slow(*args: object) -> None:  # the first to write takes its time
        if threading.current_thread().name == "first":
            second_done.wait(2)
        create(*args)  # type: ignore[arg-type]

    def tagging(tag: str) -> None:
        archive = Archive(root)
        try:
            curate.retag(archive, archive.find("a"), [(True, tag)])
            outcome[tag] = True
        except KnError:  # told: "changed meanwhile"
            outcome[tag] = False
        second_done.set()

    monkeypatch.setattr(write, "create", slow)
    threads = [threading.Thread(target=tagging, args=(n,), name=n) for n in ("first", "second")]
    for thread in threads:
        thread.start()
        time.sleep(0.3)
    for thread in threads:
        thread.join()
    written = [tag for tag, done in outcome.items() if done]
    assert written and f"tags: [{', '.join(written)}]" in (root / "a.txt").read_text()


def test_a_rm_and_an_undo_of_its_batch_at_once_never_wait_for_each_other(tmp_path, monkeypatch):
    from korea_news import write

    for name in ("archive/a.txt", "trash/b.txt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(name)
    made, both = os.mkdir, threading.Barrier(2, timeout=5)

    def meeting(*args: object, **kwargs: object) -> None:  # each holds its source folder
        both.wait()
        made(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "mkdir", meeting)
    root = str(tmp_path)
    moves = [("a.txt", "archive", "trash"), ("b.txt", "trash", "archive")]
    threads = [
        threading.Thread(target=write.move, args=(name, (root, one, root), (root, other, root)))
        for name, one, other in moves
    ]
    for thread in threads:
        thread.daemon = True
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in threads)
    assert sorted(p.name for p in tmp_path.rglob("*.txt")) == ["a.txt", "b.txt"]
    assert (tmp_path / "trash" / "a.txt").exists() and (tmp_path / "archive" / "b.txt").exists()


def test_a_killed_rm_or_undo_leaves_each_article_in_the_archive_or_in_the_trash(
    make_archive, tmp_path
):
    texts = {f"a{n}.txt": article(f"A {n}") for n in range(300)}
    root = make_archive({f"2020/{name}": text for name, text in texts.items()})
    trash = tmp_path / "articles-trash"

    def where() -> tuple[dict[str, str], dict[str, str]]:
        kept = {p.name: p.read_text() for p in (root / "2020").glob("*.txt")}
        return kept, {p.name: p.read_text() for p in trash.rglob("*.txt")}

    def removing() -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-m", "korea_news", "rm", "--yes", "-"],
            env={**os.environ, "KN_ARCHIVE": str(root), "KN_NO_CACHE": "1"},
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert process.stdin is not None
        process.stdin.write("".join(f"a{n}\n" for n in range(300)).encode())
        process.stdin.close()
        return process

    took = []  # how long a whole kn rm and its undo take here: each is killed within that
    for started in (removing, lambda: kn_process(root, "rm", "--undo")):
        start = time.perf_counter()
        assert started().wait(timeout=120) == 0
        took.append(time.perf_counter() - start)
    assert where() == (texts, {})
    for share in (0.4, 0.6, 0.8):
        process = removing()
        time.sleep(took[0] * share)
        process.send_signal(signal.SIGKILL)
        process.wait()
        kept, trashed = where()
        assert kept.keys().isdisjoint(trashed) and {**kept, **trashed} == texts
        undo = kn_process(root, "rm", "--undo")
        time.sleep(took[1] * share)
        undo.send_signal(signal.SIGKILL)
        undo.wait()
        kept, trashed = where()  # in both at once only as one file, linked twice
        assert {**kept, **trashed} == texts
        for _ in range(5):  # each undo puts back one kn rm's articles
            if not any(trash.rglob("*.txt")):
                break
            assert kn_process(root, "rm", "--undo").wait(timeout=120) == 0
        assert where() == (texts, {})


# --- kn check --duplicates ---------------------------------------------------------------

WORDS = (
    "the minister said on monday that talks with the north would resume next week after "
    "months of tension over missile tests and new sanctions imposed by the security council "
    "in new york where diplomats met to discuss the coal exports and the iron ore trade"
).split()


def body(change: int = 0, seed: int = 0) -> str:
    """A text of 132 words, none twice; `change` of them changed, 7 words apart."""
    words = [f"{word}{seed}x{n}" for n, word in enumerate(WORDS * 3)]
    for position in range(change):
        words[3 + position * 7] = "changed"
    return " ".join(words) + "\n"


def test_check_duplicates_prints_same_and_near_same_bodies(kn, make_archive):
    make_archive(
        {
            "a.txt": article("A", body=body()),
            "b.txt": article("B", date="2020-01-01", body=body().replace(" ", "  \n")),
            "c.txt": article("C", body=body(change=1)),
            "d.txt": article("D", body=body(change=6)),
            "e.txt": article("E", body=body(seed=1)),
            "f.txt": article("F", body="\n"),
            "g.txt": article("G", body="\n"),
        }
    )
    result = kn("check", "--duplicates")
    assert (result.exit_code, result.stderr) == (1, "")
    assert result.stdout == "a\tb\t1.000\na\tc\t0.940\nb\tc\t0.940\n"


def test_check_duplicates_separates_its_fields_by_tabs_as_an_id_may_hold_a_space(kn, make_archive):
    same = article("A", body="The same body of words, word for word.\n")
    make_archive({"a.txt": same, "my copy.txt": same})
    result = kn("check", "--duplicates")  # (awk -F'\t' '{print $2}' | kn rm - takes the copy)
    assert (result.exit_code, result.stdout) == (1, "a\tmy copy\t1.000\n")


def test_check_duplicates_exits_0_when_there_are_none_and_is_the_same_with_the_store(
    kn, make_archive
):
    make_archive({"a.txt": article("A", body=body()), "b.txt": article("B", body=body(seed=2))})
    assert (kn("check", "--duplicates").exit_code, kn("check", "--duplicates").stdout) == (0, "")
    make_archive({"c.txt": article("C", body=body(change=2))})
    cached = kn("check", "--duplicates", env={"KN_NO_CACHE": ""})
    again = kn("check", "--duplicates", env={"KN_NO_CACHE": ""})
    uncached = kn("check", "--duplicates")
    assert cached.stdout == again.stdout == uncached.stdout == "a\tc\t0.871\n"


def test_check_duplicates_measures_more_bodies_than_it_keeps_the_shingles_of(kn, make_archive):
    # Three alike bodies, then 130 pairs: the 256 bodies whose shingles are kept at once are
    # outgrown between the two articles of one pair, whose first must still be measured.
    files = {f"a{n}.txt": article(body=body(change=n, seed=999)) for n in range(3)}
    for n in range(130):
        files[f"p{n:03}a.txt"] = article(body=body(seed=n))
        files[f"p{n:03}b.txt"] = article(body=body(change=1, seed=n))
    make_archive(files)
    result = kn("check", "--duplicates")
    assert (result.exit_code, result.stderr) == (1, "")
    lines = result.stdout.splitlines()
    assert len(lines) == 133 and "p129a\tp129b\t0.940" in lines
